import pytest


def pytest_addoption(parser):
    parser.addoption("--regen-golden", action="store_true", default=False,
                     help="rewrite the golden images in tests/baseline/ (look at each before committing)")


@pytest.fixture
def regen_golden(request) -> bool:
    return request.config.getoption("--regen-golden")

from browser import chromium, chromium_page  # noqa: E402,F401  (headless Chromium fixtures)


@pytest.fixture(scope="module")
def runner():
    """A click CliRunner for `bprender` commands (tests/testkit.py: invoke, ok)."""
    from click.testing import CliRunner
    return CliRunner()


@pytest.fixture(autouse=True)
def _own_trace_cache(tmp_path_factory, monkeypatch):
    """Every test starts with an empty trace cache of its own (subprocesses inherit it), so no
    test sees another's cached traces; it is not in the test's tmp_path, which tests check for
    stray files."""
    monkeypatch.setenv("BPRENDER_CACHE_DIR", str(tmp_path_factory.mktemp("trace-cache")))


@pytest.fixture
def traced(monkeypatch):
    """Counts the times a model really runs (pipeline.trace_of imports trace_preset late)."""
    import bprender.trace as trace_module
    calls = []
    real = trace_module.trace_preset

    def counted(preset):
        calls.append(preset.name)
        return real(preset)
    monkeypatch.setattr(trace_module, "trace_preset", counted)
    return calls
