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
