#!/usr/bin/env python3
"""Unit checks of tools/torch_convert.py: the file layout, the mapping,
what it rejects, and the command line. Exits 77 (skipped) without torch."""

from __future__ import annotations

import contextlib
import io
import json
import pathlib
import struct
import subprocess
import sys
import tempfile
import unittest
from typing import Dict, List

try:
    import torch
    from torch import nn
except ImportError as import_error:
    print(f"SKIPPED: torch is not importable ({import_error})")
    sys.exit(77)

TOOLS = pathlib.Path(__file__).resolve().parents[2] / "tools"
sys.path.insert(0, str(TOOLS))
import safetensors_f32  # noqa: E402  (needs the path above)
import torch_convert  # noqa: E402
from torch_convert import ConversionError  # noqa: E402

SCRIPT = TOOLS / "torch_convert.py"


class Net(nn.Module):
    """The layout the command line expects by default: rnn, then linear."""

    def __init__(self, inputs: int, hidden: int, outputs: int,
                 **rnn_options) -> None:
        super().__init__()
        self.rnn = nn.RNN(inputs, hidden, **rnn_options)
        self.linear = nn.Linear(hidden, outputs)


class Wrapped(nn.Module):
    """A Net inside another module (keys "encoder.rnn....")."""

    def __init__(self, inputs: int, hidden: int, outputs: int) -> None:
        super().__init__()
        self.embed = nn.Linear(2, inputs)
        self.encoder = Net(inputs, hidden, outputs)


def random_net(inputs: int = 3, hidden: int = 7, outputs: int = 2,
               **rnn_options) -> Net:
    """A Net with non-zero biases of both kinds."""
    net = Net(inputs, hidden, outputs, **rnn_options)
    with torch.no_grad():
        for parameter in net.parameters():
            parameter.uniform_(-1.0, 1.0)
    return net


def header_of(path: pathlib.Path) -> tuple[int, bytes, Dict]:
    """(header length, raw header bytes, parsed header) of a file."""
    data = path.read_bytes()
    (length,) = struct.unpack_from("<Q", data)
    raw = data[8:8 + length]
    return length, raw, json.loads(raw)


class ConverterTest(unittest.TestCase):
    """Python API and file format."""

    def setUp(self) -> None:
        self.directory = tempfile.TemporaryDirectory(prefix="elman_convert_")
        self.path = pathlib.Path(self.directory.name)
        torch.manual_seed(7)

    def tearDown(self) -> None:
        self.directory.cleanup()

    def test_file_layout(self) -> None:
        net = random_net(3, 5, 4, nonlinearity="relu")
        file = self.path / "m.safetensors"
        torch_convert.to_elman(net.rnn, net.linear, file, "sigmoid")
        length, raw, header = header_of(file)
        self.assertEqual(length % 8, 0)
        padding = len(raw) - len(raw.rstrip(b" "))
        self.assertTrue(raw.rstrip(b" ").endswith(b"}"))
        self.assertLess(padding, 8)
        self.assertEqual(header.pop("__metadata__"), {
            "format": "elman", "format_version": "1",
            "hidden_activation": "relu", "output_activation": "sigmoid"})
        self.assertEqual(list(header), ["W", "U", "b", "V", "c"])
        shapes = [[5, 3], [5, 5], [5], [4, 5], [4]]
        offset = 0
        for info, shape in zip(header.values(), shapes):
            self.assertEqual(info["dtype"], "F32")
            self.assertEqual(info["shape"], shape)
            size = 4 * torch.Size(shape).numel()
            self.assertEqual(info["data_offsets"], [offset, offset + size])
            offset += size
        data = file.read_bytes()[8 + length:]
        self.assertEqual(len(data), offset)
        # Little-endian float32, W first, row-major.
        w = struct.unpack_from("<15f", data, 0)
        self.assertEqual(list(w), net.rnn.weight_ih_l0.reshape(-1).tolist())
        b = struct.unpack_from("<5f", data, header["b"]["data_offsets"][0])
        expected = net.rnn.bias_ih_l0 + net.rnn.bias_hh_l0
        self.assertEqual(list(b), expected.tolist())

    def test_round_trip(self) -> None:
        for nonlinearity in ("tanh", "relu"):
            for batch_first in (False, True):
                net = random_net(nonlinearity=nonlinearity,
                                 batch_first=batch_first)
                file = self.path / "m.safetensors"
                torch_convert.to_elman(net.rnn, net.linear, file, "tanh")
                rnn, linear, g = torch_convert.from_elman(file, batch_first)
                self.assertEqual(g, "tanh")
                self.assertEqual(rnn.nonlinearity, nonlinearity)
                self.assertEqual(rnn.batch_first, batch_first)
                self.assertTrue(torch.equal(rnn.weight_ih_l0,
                                            net.rnn.weight_ih_l0))
                self.assertTrue(torch.equal(rnn.weight_hh_l0,
                                            net.rnn.weight_hh_l0))
                self.assertTrue(torch.equal(
                    rnn.bias_ih_l0, net.rnn.bias_ih_l0 + net.rnn.bias_hh_l0))
                self.assertFalse(bool(rnn.bias_hh_l0.any()))
                self.assertTrue(torch.equal(linear.weight, net.linear.weight))
                self.assertTrue(torch.equal(linear.bias, net.linear.bias))
                again = self.path / "again.safetensors"
                torch_convert.to_elman(rnn, linear, again, g)
                self.assertEqual(file.read_bytes(), again.read_bytes())

    def test_other_float_dtypes_become_float32(self) -> None:
        net = random_net().double()
        file = self.path / "m.safetensors"
        torch_convert.to_elman(net.rnn, net.linear, file)
        tensors, _ = torch_convert.read_elman(file)
        self.assertTrue(torch.equal(tensors["U"],
                                    net.rnn.weight_hh_l0.float()))

    def assert_rejected(self, rnn: nn.Module, linear: nn.Module,
                        fragment: str, output_activation: str = "identity"
                        ) -> None:
        file = self.path / "rejected.safetensors"
        with self.assertRaises(ConversionError) as raised:
            torch_convert.to_elman(rnn, linear, file, output_activation)
        self.assertIn(fragment, str(raised.exception))
        self.assertFalse(file.exists())

    def test_rejects_unsupported_modules(self) -> None:
        linear = nn.Linear(7, 2)
        self.assert_rejected(nn.RNN(3, 7, num_layers=2), linear,
                             "num_layers=2")
        self.assert_rejected(nn.RNN(3, 7, bidirectional=True), linear,
                             "bidirectional")
        self.assert_rejected(nn.RNN(3, 7, bias=False), linear, "bias=False")
        self.assert_rejected(nn.GRU(3, 7), linear, "GRU")
        self.assert_rejected(nn.LSTM(3, 7), linear, "LSTM")
        self.assert_rejected(nn.RNN(3, 7), nn.Linear(7, 2, bias=False),
                             "bias=False")
        self.assert_rejected(nn.RNN(3, 7), nn.Linear(6, 2), "in_features")
        self.assert_rejected(nn.RNN(3, 7), linear, "softmax", "softmax")
        huge = nn.RNN(3, 7).double()
        with torch.no_grad():
            huge.weight_hh_l0[0, 0] = 1e300  # inf as float32
        self.assert_rejected(huge, linear, "not finite")

    def test_rejects_malformed_files(self) -> None:
        net = random_net()
        good = self.path / "good.safetensors"
        torch_convert.to_elman(net.rnn, net.linear, good)
        data = good.read_bytes()
        bad = self.path / "bad.safetensors"
        cases = {
            "too short": data[:5],
            "exceeds the file": struct.pack("<Q", 10**6) + data[8:],
            "bytes after the last tensor": data + b"\0\0\0\0",
            "do not hold": data[:-4],
        }
        for fragment, content in cases.items():
            bad.write_bytes(content)
            with self.assertRaises(ConversionError, msg=fragment) as raised:
                torch_convert.from_elman(bad)
            self.assertIn(fragment, str(raised.exception))
        # Not an elman file: a container of other tensors.
        torch_convert.write_safetensors(bad, {"x": torch.zeros(2)})
        with self.assertRaisesRegex(ConversionError, "format"):
            torch_convert.from_elman(bad)
        # A hidden activation nn.RNN does not have.
        tensors, _ = torch_convert.read_elman(good)
        torch_convert.write_elman(bad, tensors, "sigmoid")
        with self.assertRaisesRegex(ConversionError, "no nn.RNN equivalent"):
            torch_convert.from_elman(bad)
        # Only float32 is written.
        with self.assertRaisesRegex(ConversionError, "float32"):
            torch_convert.encode_safetensors({"x": torch.zeros(2).double()})


class ContainerTest(unittest.TestCase):
    """tools/safetensors_f32.py on its own."""

    def test_needs_no_torch(self) -> None:
        code = ("import sys; sys.modules['torch'] = None; "
                f"sys.path.insert(0, {str(TOOLS)!r}); import safetensors_f32 "
                "as s; t, m = s.decode(s.encode({'a': ([2], [1.5, -2.0])}, "
                "{'k': 'v'})); print(t, m)")
        run = subprocess.run([sys.executable, "-c", code], capture_output=True,
                             text=True)
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertEqual(run.stdout.strip(),
                         "{'a': ([2], (1.5, -2.0))} {'k': 'v'}")

    def test_rejects_duplicated_keys(self) -> None:
        header = (b'{"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]},'
                  b'"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}')
        data = struct.pack("<Q", len(header)) + header + b"\0" * 4
        with self.assertRaisesRegex(safetensors_f32.SafetensorsError,
                                    "duplicated key 'a'"):
            safetensors_f32.decode(data, "dup")


class CommandLineTest(unittest.TestCase):
    """python3 tools/torch_convert.py to-elman / from-elman."""

    def setUp(self) -> None:
        self.directory = tempfile.TemporaryDirectory(prefix="elman_cli_")
        self.path = pathlib.Path(self.directory.name)
        torch.manual_seed(11)

    def tearDown(self) -> None:
        self.directory.cleanup()

    def run_cli(self, *args: str) -> subprocess.CompletedProcess:
        """The script in a new interpreter, as a user runs it."""
        return subprocess.run([sys.executable, str(SCRIPT), *args],
                              capture_output=True, text=True)

    def call_main(self, *args: str) -> subprocess.CompletedProcess:
        """torch_convert.main in this process (faster than run_cli)."""
        stdout, stderr = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(stdout), \
                contextlib.redirect_stderr(stderr):
            code = torch_convert.main(list(args))
        return subprocess.CompletedProcess(args, code, stdout.getvalue(),
                                           stderr.getvalue())

    def test_round_trip(self) -> None:
        net = random_net(4, 9, 3, nonlinearity="relu", batch_first=True)
        model = self.path / "model.pt"
        torch.save(net.state_dict(), model)
        elman = self.path / "model.safetensors"
        run = self.run_cli("to-elman", str(model), str(elman),
                           "--nonlinearity", "relu", "--output-activation",
                           "sigmoid")
        self.assertEqual(run.returncode, 0, run.stderr)
        _, _, header = header_of(elman)
        self.assertEqual(header["__metadata__"]["hidden_activation"], "relu")
        self.assertEqual(header["__metadata__"]["output_activation"],
                         "sigmoid")

        back = self.path / "back.pt"
        run = self.run_cli("from-elman", str(elman), str(back))
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertIn("nonlinearity='relu'", run.stdout)
        self.assertIn("output activation sigmoid", run.stdout)
        restored = Net(4, 9, 3, nonlinearity="relu", batch_first=True)
        restored.load_state_dict(torch.load(back))  # strict: same keys
        x = torch.randn(2, 5, 4)
        with torch.no_grad():
            expected = net.linear(net.rnn(x)[0])
            got = restored.linear(restored.rnn(x)[0])
        torch.testing.assert_close(got, expected, rtol=1e-6, atol=1e-6)

    def test_prefixes(self) -> None:
        net = Wrapped(3, 5, 2)
        model = self.path / "wrapped.pt"
        torch.save(net.state_dict(), model)
        elman = self.path / "wrapped.safetensors"
        run = self.call_main("to-elman", str(model), str(elman))
        self.assertEqual(run.returncode, 2)
        self.assertIn("missing rnn.weight_ih_l0", run.stderr)
        self.assertIn("encoder.rnn.weight_ih_l0", run.stderr)  # the keys
        run = self.call_main("to-elman", str(model), str(elman),
                           "--rnn-prefix", "encoder.rnn.",
                           "--linear-prefix", "encoder.linear.")
        self.assertEqual(run.returncode, 0, run.stderr)
        back = self.path / "back.pt"
        run = self.call_main("from-elman", str(elman), str(back),
                           "--rnn-prefix", "encoder.rnn.",
                           "--linear-prefix", "encoder.linear.")
        self.assertEqual(run.returncode, 0, run.stderr)
        state = torch.load(back)
        self.assertTrue(torch.equal(state["encoder.linear.weight"],
                                    net.encoder.linear.weight))

    def test_rejections_exit_2(self) -> None:
        unsupported: Dict[str, List[object]] = {
            "more than one layer": [Net(3, 5, 2, num_layers=2)],
            "bidirectional": [Net(3, 5, 2, bidirectional=True)],
            "bias=False": [Net(3, 5, 2, bias=False)],
        }
        gru = Net(3, 5, 2)
        gru.rnn = nn.GRU(3, 5)
        unsupported["a GRU"] = [gru]
        lstm = Net(3, 5, 2)
        lstm.rnn = nn.LSTM(3, 5)
        unsupported["an LSTM"] = [lstm]
        for fragment, (net,) in unsupported.items():
            model = self.path / "bad.pt"
            torch.save(net.state_dict(), model)
            out = self.path / "bad.safetensors"
            run = self.call_main("to-elman", str(model), str(out))
            self.assertEqual(run.returncode, 2, fragment)
            self.assertIn("error:", run.stderr)
            self.assertIn(fragment, run.stderr)
            self.assertFalse(out.exists())
        # A whole pickled module instead of a state_dict, and no file at all.
        model = self.path / "module.pt"
        torch.save(random_net(), model)
        run = self.call_main("to-elman", str(model), str(self.path / "o"))
        self.assertEqual(run.returncode, 2)
        self.assertIn("state_dict", run.stderr)
        run = self.call_main("from-elman", str(self.path / "none"), "o.pt")
        self.assertEqual(run.returncode, 2)
        self.assertIn("error:", run.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
