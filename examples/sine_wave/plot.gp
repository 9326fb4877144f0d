# Draws what elman_example_sine_wave wrote: the loss curves of both variants
# and the loaded model's prediction against the truth on an unseen phase.
# Usage: gnuplot -e "dir='OUTPUT_DIRECTORY'" examples/sine_wave/plot.gp
#        (writes OUTPUT_DIRECTORY/sine_wave.svg)
if (!exists("dir")) dir = "."
set terminal svg size 960,380 dynamic font "sans,12" background rgb "white"
set output dir . "/sine_wave.svg"
set datafile separator ","
set key autotitle columnhead
set multiplot layout 1,2

set title "Training (Adam, lr 0.01, T = 25, B = 16, H = 32)"
set xlabel "epoch"
set ylabel "mean loss ½(y − Y)² per sample"
set logscale y
set format y "10^{%L}"
set grid
plot dir . "/loss.csv" using 1:2 with lines lw 2 title "many-to-many", \
     "" using 1:3 with lines lw 2 title "many-to-one (last step)", \
     "" using 1:4 with lines dt 2 lc rgb "#555555" title "first step's floor"

set title "Loaded from sine\\_wave.safetensors, unseen phase 0.3"
set xlabel "t"
set ylabel "x(t + 1)"
unset logscale y
set format y "%g"
set yrange [-1.3:1.3]
plot dir . "/prediction.csv" using 1:3 with lines lw 5 lc rgb "#bbbbbb" title "true sin(0.3 + t + 1)", \
     "" using 1:4 with linespoints pt 7 ps 0.5 lw 1 title "predicted"

unset multiplot
