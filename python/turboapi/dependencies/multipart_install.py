"""The check, made when a route declares a form or file parameter, that python-multipart (and not
the unrelated ``multipart`` package) is installed, with FastAPI's errors."""

from __future__ import annotations

from ..logger import logger

multipart_not_installed_error = (
    'Form data requires "python-multipart" to be installed. \n'
    'You can install "python-multipart" with: \n\npip install python-multipart\n'
)
multipart_incorrect_install_error = (
    'Form data requires "python-multipart" to be installed. It seems you installed "multipart" instead. \n'
    'You can remove "multipart" with: \n\npip uninstall multipart\n\n'
    'And then install "python-multipart" with: \n\npip install python-multipart\n'
)


def _python_multipart_version() -> str | None:
    """The version of python-multipart under its new import name; None when it is missing or older
    than 0.0.13 (the releases that only had the ``multipart`` name)."""
    try:
        from python_multipart import __version__
    except ImportError:
        return None
    return __version__ if __version__ > "0.0.12" else None


def ensure_multipart_is_installed() -> None:
    """RuntimeError (logged too, as FastAPI does) unless python-multipart can parse forms.

    The attributes are looked up on each call, not at import, so tests can patch or delete them."""
    if _python_multipart_version() is not None:
        return
    try:
        # Both python-multipart's old name and the unrelated ``multipart`` package have a version.
        from multipart import __version__

        assert __version__
    except (ImportError, AssertionError):
        logger.error(multipart_not_installed_error)
        raise RuntimeError(multipart_not_installed_error) from None
    try:
        # Only python-multipart has this.
        from multipart.multipart import parse_options_header

        assert parse_options_header
    except (ImportError, AssertionError):
        logger.error(multipart_incorrect_install_error)
        raise RuntimeError(multipart_incorrect_install_error) from None
