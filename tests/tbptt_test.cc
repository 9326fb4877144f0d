// Truncated BPTT and stateful sequences (issue 8, item 3): a long sequence cut
// into chunks, each chunk's h0 the previous chunk's final_hidden(), on every
// SIMD target.
//  - The forward of the chunks is the forward of one run, bit for bit: each
//    step's arithmetic does not depend on where the sequence was cut.
//  - Each chunk's gradients are those of the truncated-BPTT definition: the
//    reference's Backward of that chunk alone, its h0 a constant (PyTorch's
//    h.detach()), and their sum is the truncated gradient of the whole loss.
#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "elman/elman.h"
#include "gtest/gtest.h"
#include "hwy/tests/hwy_gtest.h"
#include "src/tools/verify_cases.h"
#include "tests/test_util.h"

namespace elman {
namespace {

using test::ExpectClose;
using test::RandomVector;
using test::Widen;

struct ChunkCase {
  Dims dims;
  size_t batch;
  std::vector<size_t> chunks;  // lengths, in order; the sequence is their sum
};

std::string Describe(const ChunkCase& c) {
  // Appended piece by piece: GCC 12 warns (-Wrestrict, a false positive)
  // about "literal" + std::string temporaries here.
  std::string text = "I=";
  text += std::to_string(c.dims.input);
  text += " H=";
  text += std::to_string(c.dims.hidden);
  text += " O=";
  text += std::to_string(c.dims.output);
  text += " B=";
  text += std::to_string(c.batch);
  text += " chunks";
  for (size_t length : c.chunks) {
    text += ' ';
    text += std::to_string(length);
  }
  text += " target=";
  text += CurrentTarget();
  return text;
}

// Rows [begin, begin + steps) of a time-major [T][B][n] array.
std::vector<float> Slice(const std::vector<float>& all, size_t begin,
                         size_t steps, size_t batch, size_t n) {
  const auto first =
      all.begin() + static_cast<std::ptrdiff_t>(begin * batch * n);
  return {first, first + static_cast<std::ptrdiff_t>(steps * batch * n)};
}

class TruncatedBpttTest : public hwy::TestWithParamTarget {};
HWY_TARGET_INSTANTIATE_TEST_SUITE_P(TruncatedBpttTest);

// Shapes on each B = 1 path (fused H ≤ 32 and 64, matrix-vector H ≤ 64, GEMM
// above;
// src/fused_path.h) and B > 1, with chunks of unequal lengths, 1 included.
const ChunkCase kCases[] = {
    {{1, 32, 1}, 1, {25, 25, 25, 25}},  // the seed's sine shape
    {{3, 17, 5}, 1, {7, 1, 12}},       {{2, 50, 3}, 1, {10, 5, 9}},
    {{5, 100, 7}, 1, {6, 1, 6}},       {{3, 17, 2}, 4, {5, 11, 1, 8}},
    {{4, 70, 3}, 3, {4, 6}},
};

TEST_P(TruncatedBpttTest, ChunkedForwardEqualsOneRunBitForBit) {
  uint64_t seed = 1;
  for (const ChunkCase& c : kCases) {
    SCOPED_TRACE(Describe(c));
    std::mt19937_64 random(seed);
    const Model model({c.dims, Activation::kTanh, Activation::kIdentity},
                      seed++);
    size_t steps = 0;
    for (size_t length : c.chunks) steps += length;
    const auto x = RandomVector(steps * c.batch * c.dims.input, random);
    const auto h0 = RandomVector(c.batch * c.dims.hidden, random);

    Workspace whole(c.dims, steps, c.batch);
    std::vector<float> y_whole(steps * c.batch * c.dims.output);
    Forward(model, x, {steps, c.batch}, h0, whole, y_whole);

    // One workspace for every chunk, its own final_hidden() passed as h0.
    Workspace chunked(c.dims, steps, c.batch);
    std::vector<float> y_chunks;
    size_t begin = 0;
    for (size_t length : c.chunks) {
      const auto x_chunk = Slice(x, begin, length, c.batch, c.dims.input);
      std::vector<float> y(length * c.batch * c.dims.output);
      const std::span<const float> carried =
          begin == 0 ? std::span<const float>(h0) : chunked.final_hidden();
      Forward(model, x_chunk, {length, c.batch}, carried, chunked, y);
      y_chunks.insert(y_chunks.end(), y.begin(), y.end());
      begin += length;
    }
    EXPECT_TRUE(test::SameBytes(y_chunks, y_whole));
    EXPECT_TRUE(test::SameBytes(chunked.final_hidden(), whole.final_hidden()));
  }
}

TEST_P(TruncatedBpttTest, ChunkGradientsAreTheTruncatedDefinition) {
  uint64_t seed = 100;
  for (const ChunkCase& c : kCases) {
    SCOPED_TRACE(Describe(c));
    std::mt19937_64 random(seed);
    const Model model({c.dims, Activation::kTanh, Activation::kSigmoid},
                      seed++);
    const reference::Model ref_model(model);
    size_t steps = 0;
    for (size_t length : c.chunks) steps += length;
    const auto x = RandomVector(steps * c.batch * c.dims.input, random);
    const auto target = RandomVector(steps * c.batch * c.dims.output, random);

    Workspace ws(c.dims, steps, c.batch);
    Gradients grads(c.dims);
    Gradients sum(c.dims);  // zero
    // The truncated gradient of the whole loss, from the reference.
    std::vector<double> ref_sum_W(grads.W().size()),
        ref_sum_U(grads.U().size());
    std::vector<float> carried;  // empty: h(−1) = 0
    size_t begin = 0;
    for (size_t length : c.chunks) {
      const SequenceShape seq{length, c.batch};
      const auto x_chunk = Slice(x, begin, length, c.batch, c.dims.input);
      const auto target_chunk =
          Slice(target, begin, length, c.batch, c.dims.output);
      std::vector<float> y(length * c.batch * c.dims.output);
      std::vector<float> dh0(c.batch * c.dims.hidden);
      Forward(model, x_chunk, seq, carried, ws, y);
      Backward(model, target_chunk, {}, ws, {&grads, {}, dh0});

      // The definition: this chunk alone, from the same h0, held constant.
      const auto ref_forward =
          reference::Forward(ref_model, Widen(x_chunk), seq, Widen(carried));
      const auto ref =
          reference::Backward(ref_model, Widen(x_chunk), Widen(carried),
                              ref_forward, Widen(target_chunk));
      const double tol = verify::PassTolerance(c.dims, seq);
      const double norm =
          test::MaxAbsOf({&ref.W, &ref.U, &ref.b, &ref.V, &ref.c, &ref.h0});
      ExpectClose(y, ref_forward.output, tol, "y");
      ExpectClose(grads.W(), ref.W, tol, "dW", norm);
      ExpectClose(grads.U(), ref.U, tol, "dU", norm);
      ExpectClose(grads.b(), ref.b, tol, "db", norm);
      ExpectClose(grads.V(), ref.V, tol, "dV", norm);
      ExpectClose(grads.c(), ref.c, tol, "dc", norm);
      // dh0 is what truncation drops: the gradient that would have crossed.
      ExpectClose(dh0, ref.h0, tol, "dh0", norm);
      for (size_t i = 0; i < ref.W.size(); ++i) ref_sum_W[i] += ref.W[i];
      for (size_t i = 0; i < ref.U.size(); ++i) ref_sum_U[i] += ref.U[i];
      for (size_t i = 0; i < grads.W().size(); ++i) sum.W()[i] += grads.W()[i];
      for (size_t i = 0; i < grads.U().size(); ++i) sum.U()[i] += grads.U()[i];

      const auto h_final = ws.final_hidden();
      carried.assign(h_final.begin(), h_final.end());
      begin += length;
    }
    const double tol = verify::PassTolerance(c.dims, {steps, c.batch});
    ExpectClose(sum.W(), ref_sum_W, tol, "sum of dW", test::MaxAbs(ref_sum_W));
    ExpectClose(sum.U(), ref_sum_U, tol, "sum of dU", test::MaxAbs(ref_sum_U));
  }
}

// The truncation is real: over two chunks, the summed chunk gradients differ
// from the full BPTT gradient of one run by more than rounding (else this
// test could not tell truncated from full backpropagation).
TEST_P(TruncatedBpttTest, TruncationDropsTheCrossBoundaryTerm) {
  const Dims dims{2, 8, 1};
  std::mt19937_64 random(7);
  const Model model({dims, Activation::kTanh, Activation::kIdentity}, 7);
  const size_t steps = 12, half = 6;
  const auto x = RandomVector(steps * dims.input, random);
  const auto target = RandomVector(steps * dims.output, random);

  Workspace ws(dims, steps, 1);
  Gradients full(dims), chunk(dims);
  std::vector<float> y(steps * dims.output);
  Forward(model, x, {steps, 1}, {}, ws, y);
  Backward(model, target, {}, ws, {&full});

  std::vector<float> truncated_dU(full.U().size(), 0.0f);
  std::vector<float> carried;
  for (size_t begin = 0; begin < steps; begin += half) {
    const auto x_chunk = Slice(x, begin, half, 1, dims.input);
    const auto target_chunk = Slice(target, begin, half, 1, dims.output);
    std::vector<float> y_chunk(half * dims.output);
    Forward(model, x_chunk, {half, 1}, carried, ws, y_chunk);
    Backward(model, target_chunk, {}, ws, {&chunk});
    for (size_t i = 0; i < truncated_dU.size(); ++i) {
      truncated_dU[i] += chunk.U()[i];
    }
    carried.assign(ws.final_hidden().begin(), ws.final_hidden().end());
  }
  EXPECT_GT(test::RelativeError(truncated_dU, Widen(full.U())), 1e-3);
}

TEST(TruncatedBpttApiTest, FinalHiddenIsEmptyBeforeForwardAndSizedAfter) {
  const Dims dims{3, 5, 2};
  Workspace ws(dims, 4, 3);
  EXPECT_TRUE(ws.final_hidden().empty());
  const Model model({dims}, 1);
  std::vector<float> x(2 * 3 * 3, 0.5f), y(2 * 3 * 2);
  Forward(model, x, {2, 3}, {}, ws, y);
  ASSERT_EQ(ws.final_hidden().size(), 3u * 5u);
  // The last block of hidden().
  EXPECT_EQ(ws.final_hidden().data(), ws.hidden().data() + 1 * 3 * 5);
}

}  // namespace
}  // namespace elman
