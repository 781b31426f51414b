"""Building what gets traced: the safe expression language and python model files."""
from __future__ import annotations

import textwrap

import pytest
import torch
from torch import nn

from bprender.errors import PresetError
from bprender.model import Built, build_model
from bprender.model.expression import FUNCTIONS


def expr(expression, params=None, inputs=None, **extra):
    spec = {"expression": expression, "params": params if params is not None else {"w": 2.0},
            "inputs": inputs if inputs is not None else {"x": 3.0}}
    spec.update(extra)
    return build_model(spec)


def test_seed_example_builds_and_runs():
    built = expr("(w * x + b - y_true) ** 2", {"w": 2.0, "b": 1.0}, {"x": 3.0, "y_true": 8.0})
    assert isinstance(built, Built)
    assert list(built.leaves) == ["w", "b"] and list(built.constants) == ["x", "y_true"]
    assert all(t.requires_grad and t.dtype == torch.float32 for t in built.leaves.values())
    assert not any(t.requires_grad for t in built.constants.values())
    loss = built.run()
    loss.backward()
    assert loss.item() == 1.0
    assert built.leaves["w"].grad.item() == -6.0 and built.leaves["b"].grad.item() == -2.0


def test_every_function_and_operator_evaluates():
    for name in FUNCTIONS:
        loss = expr(f"sum({name}(w * x + 1))", {"w": [[0.5, 1.0]]}, {"x": [[2.0, 3.0]]}).run()
        assert loss.shape == () and loss.requires_grad
    loss = expr("mean(+w @ x - -1 / 2 ** 2)", {"w": [[1.0, 2.0]]}, {"x": [[1.0], [2.0]]}).run()
    assert loss.item() == pytest.approx(5.25)


def test_nested_list_params_are_float32():
    built = expr("sum(w * x)", {"w": [[1, 2], [3, 4]]}, {"x": 2})
    assert built.leaves["w"].shape == (2, 2) and built.leaves["w"].dtype == torch.float32


@pytest.mark.parametrize("text, construct", [
    ("__import__('os').system('x')", "attribute access"),
    ("__import__('os')", "'__import__' is not allowed"),
    ("w.numpy()", "attribute access (.numpy)"),
    ("w.sum(0)", ".sum() takes no arguments"),
    ("w.__class__", "attribute access"),
    ("w[0]", "indexing"),
    ("'abc'", "string constant"),
    ("w * 'x'", "string constant"),
    ("(lambda: w)()", "calling the result"),
    ("lambda: w", "lambda"),
    ("sum([v for v in w])", "list comprehension"),
    ("sum(w, dim=0)", "keyword argument"),
    ("w if x else w", "conditional"),
    ("w < x", "comparison"),
    ("w // x", "operator FloorDiv"),
    ("~w", "unary operator Invert"),
    ("True * w", "bool constant"),
    ("sum(w, x)", "exactly one argument"),
    ("sum", "must be called"),
    ("w +", "not a valid formula"),
])
def test_unsafe_or_unsupported_expressions_are_rejected(text, construct):
    with pytest.raises(PresetError) as info:
        expr(text)
    assert info.value.key == "model.expression"
    assert construct in str(info.value)


def test_rejected_before_anything_runs(tmp_path):
    marker = tmp_path / "pwned"
    with pytest.raises(PresetError):
        expr(f"__import__('pathlib').Path({str(marker)!r}).touch()")
    assert not marker.exists()


def test_unknown_name_suggests_a_close_one():
    with pytest.raises(PresetError) as info:
        expr("(w * x + b - y_tru) ** 2", {"w": 2.0, "b": 1.0}, {"x": 3.0, "y_true": 8.0})
    err = info.value
    assert err.key == "model.expression" and "unknown name 'y_tru'" in err.message
    assert err.hint == "did you mean 'y_true'?"
    with pytest.raises(PresetError) as info:
        expr("tanhh(w)")
    assert "did you mean 'tanh'?" in str(info.value)


def test_non_scalar_result_says_to_reduce():
    with pytest.raises(PresetError) as info:
        expr("w * x", {"w": [1.0, 2.0]}, {"x": 3.0})
    assert info.value.key == "model.expression"
    assert "not a scalar" in info.value.message and "sum(...) or mean(...)" in info.value.hint


def test_shape_errors_and_constant_results():
    with pytest.raises(PresetError, match="cannot evaluate"):
        expr("sum(w @ x)", {"w": [[1.0, 2.0]]}, {"x": [[1.0, 2.0]]})
    with pytest.raises(PresetError, match="does not depend on any param"):
        expr("x * 2").run()
    with pytest.raises(PresetError, match="param itself"):
        expr("w").run()


def test_bad_params_and_names():
    with pytest.raises(PresetError) as info:
        expr("w", {"w": "two"})
    assert info.value.key == "model.params.w"
    with pytest.raises(PresetError) as info:
        expr("sum(w)", {"w": [[1.0, 2.0], [3.0]]})
    assert info.value.key == "model.params.w"
    with pytest.raises(PresetError, match="function name"):
        expr("exp * 2", {"exp": 1.0})
    with pytest.raises(PresetError, match="both params and inputs"):
        expr("w * 2", {"w": 1.0}, {"w": 2.0})
    with pytest.raises(PresetError, match="exactly one of"):
        build_model({"expression": "w", "python": "a.py:b"})


# ---- python model files ------------------------------------------------------------------

GOOD = """
import torch
from torch import nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 3)
    def forward(self, x):
        return self.fc(torch.relu(self.fc(x)))

def build():
    return {"model": Net(), "inputs": torch.randn(2, 3), "target": torch.zeros(2, 3),
            "loss": "mse"}
"""


def write(tmp_path, source, name="net.py"):
    (tmp_path / name).write_text(textwrap.dedent(source))
    return tmp_path


def test_python_file_builds_named_leaves_and_constants(tmp_path):
    built = build_model({"python": "net.py:build"}, write(tmp_path, GOOD))
    assert list(built.leaves) == ["fc.weight", "fc.bias"]
    assert list(built.constants) == ["input", "target"]
    assert isinstance(built.module, torch.nn.Module)
    loss = built.run()
    assert loss.shape == () and loss.requires_grad


def test_python_file_is_seeded(tmp_path):
    a = build_model({"python": "net.py:build", "seed": 3}, write(tmp_path, GOOD))
    b = build_model({"python": "net.py:build", "seed": 3}, tmp_path)
    assert torch.equal(a.leaves["fc.weight"], b.leaves["fc.weight"])
    assert torch.equal(a.constants["input"], b.constants["input"])


def test_several_inputs_and_callable_loss(tmp_path):
    write(tmp_path, """
        import torch
        from torch import nn
        class Two(nn.Module):
            def __init__(self):
                super().__init__()
                self.a = nn.Linear(2, 1)
            def forward(self, x, y):
                return self.a(x) * y
        def build():
            return dict(model=Two(), inputs=(torch.ones(1, 2), torch.ones(1, 1)),
                        target=torch.zeros(1, 1), loss=lambda out, t: ((out - t) ** 2).sum())
    """)
    built = build_model({"python": "net.py:build"}, tmp_path)
    assert list(built.constants) == ["input0", "input1", "target"]
    assert built.run().requires_grad


@pytest.mark.parametrize("spec, source, needle", [
    ("missing.py:build", GOOD, "file not found"),
    ("net.py:biuld", GOOD, "did you mean 'build'?"),
    ("net.py", GOOD, "expected FILE.py:FUNCTION"),
    ("net.py:build", GOOD.replace('"mse"', '"mse_loss"'), "unknown loss 'mse_loss'"),
    ("net.py:build", GOOD.replace('"mse"', '"hinge"'), "unknown loss 'hinge'"),
    ("net.py:build", "def build():\n    return 3\n", "must return a mapping"),
    ("net.py:build", "import torch\ndef build():\n    return {'model': 1}\n", "missing inputs"),
    ("net.py:build", GOOD.replace('"loss"', '"los"'), "did you mean 'loss'?"),
    ("net.py:build", GOOD.replace("nn.Linear(3, 3)", "nn.Linear(3, 3, biass=True)"),
     "TypeError"),
    ("net.py:build", "import torch\n\ndef build():\n    raise ValueError('boom')\n",
     "net.py:4: ValueError: boom"),
    ("net.py:build", "def build(:\n    pass\n", "SyntaxError"),
    ("net.py:build", "import no_such_module_xyz\n", "ModuleNotFoundError"),
])
def test_python_file_mistakes(tmp_path, spec, source, needle):
    write(tmp_path, source)
    with pytest.raises(PresetError) as info:
        build_model({"python": spec}, tmp_path)
    assert info.value.key == "model.python"
    assert needle in str(info.value)
    assert "bprender/" not in str(info.value)


def test_exception_in_forward_points_at_user_line(tmp_path):
    write(tmp_path, GOOD.replace("return self.fc(torch.relu(self.fc(x)))",
                                 "return self.fc(x).reshape(5, 7)"))
    built = build_model({"python": "net.py:build"}, tmp_path)
    with pytest.raises(PresetError) as info:
        built.run()
    err = info.value
    assert err.key == "model.python" and "RuntimeError" in err.message
    assert "net.py:10" in err.message and "reshape(5, 7)" in err.hint


def test_non_scalar_loss_from_callable(tmp_path):
    write(tmp_path, GOOD.replace('"mse"', "lambda o, t: o - t"))
    built = build_model({"python": "net.py:build"}, tmp_path)
    with pytest.raises(PresetError, match="not a scalar"):
        built.run()


# ---- inputs, targets and losses of every shape a real model uses ---------------------------

def test_keyword_inputs_tuple_and_dict_targets_and_no_target():
    from torch.nn import functional as F
    from bprender.model.python_file import build_from_module

    class Keywords(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(2, 1)

        def forward(self, x, scale):
            return self.a(x) * scale

    torch.manual_seed(0)
    model, x, scale, y = Keywords(), torch.randn(3, 2), torch.full((3, 1), 2.0), torch.randn(3, 1)
    built = build_from_module(model, {"x": x, "scale": scale}, (y, y * 2),
                              lambda out, t: F.mse_loss(out, t[0]) + F.mse_loss(out, t[1]))
    assert list(built.constants) == ["x", "scale", "target0", "target1"]
    loss = built.run()
    out = model(x=x, scale=scale)
    expected = F.mse_loss(out, y) + F.mse_loss(out, y * 2)
    assert torch.equal(loss, expected)
    built = build_from_module(nn.Linear(2, 1), x, {"y": y}, lambda out, t: F.mse_loss(out, t["y"]))
    assert list(built.constants) == ["input", "target_y"]
    built = build_from_module(nn.Linear(2, 1), x, None, lambda out: out.pow(2).mean())
    assert list(built.constants) == ["input"] and built.run().requires_grad


def test_a_loss_class_instead_of_an_instance_names_the_fix():
    from bprender.model.python_file import build_from_module
    with pytest.raises(ValueError, match=r"`loss` is the class MSELoss, not a loss \(use nn.MSELoss\(\)\)"):
        build_from_module(nn.Linear(2, 1), torch.ones(1, 2), torch.ones(1, 1), nn.MSELoss)
    with pytest.raises(ValueError, match=r"use Linear\(\)"):
        build_from_module(nn.Linear, torch.ones(1, 2), torch.ones(1, 1), "mse")


def test_float_class_labels_to_cross_entropy_say_long():
    from bprender.model.python_file import build_from_module
    for loss in ("cross_entropy", nn.CrossEntropyLoss()):
        built = build_from_module(nn.Linear(2, 3), torch.ones(4, 2), torch.tensor([0.0, 1.0, 2.0, 1.0]), loss)
        with pytest.raises(ValueError, match=r"class indices as integers.*float32 \(pass target.long\(\)\)"):
            built.run()
    # probabilities (same shape as the output) are a valid float target
    build_from_module(nn.Linear(2, 3), torch.ones(4, 2), torch.full((4, 3), 1 / 3), "cross_entropy").run()


def test_python_file_without_target_and_a_warning_at_the_users_line(tmp_path):
    import warnings
    write(tmp_path, """
        import torch
        from torch import nn

        def build():
            model = nn.Linear(2, 1)
            return {"model": model, "inputs": torch.ones(4, 2), "target": torch.zeros(4),
                    "loss": "mse"}
    """)
    built = build_model({"python": "net.py:build"}, tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        built.run()
    broadcast = [w for w in caught if "target size" in str(w.message)]
    assert broadcast and broadcast[0].filename == str(tmp_path / "net.py") and broadcast[0].lineno == 8
    write(tmp_path, """
        import torch
        from torch import nn

        def build():
            return {"model": nn.Linear(2, 1), "inputs": torch.ones(4, 2), "loss": lambda out: out.abs().mean()}
    """, name="free.py")
    built = build_model({"python": "free.py:build"}, tmp_path)
    assert list(built.constants) == ["input"] and built.run().requires_grad
