"""The project's exceptions: one root, one subclass per boundary.

Foreign exceptions (requests, web3, TensorFlow, OS) are translated once, where
they enter, into one of these, with a message that says what failed, where, and
what the user can do about it.
"""

from __future__ import annotations


class DflError(Exception):
    """Root of every error this project raises on purpose.

    `transient` says whether the same action may succeed later without anyone doing anything
    (a service that is down or slow, a race with another account): long-running workers retry
    transient errors and stop with a one-line message on any other."""

    transient: bool = False


class ArgumentError(DflError):
    """A command-line argument or option value is invalid (checked before anything is sent)."""


class ConfigError(DflError):
    """A setting is missing or malformed (config file or DFL_* variable)."""


class ServiceError(DflError):
    """A local dev service (anvil, the IPFS dev node) could not be started or stopped."""


class IpfsError(DflError):
    """An IPFS operation failed: node unreachable, timed out, refused, or returned bad data."""

    transient = True  # the node may come back or find the content; the subclasses below are final

    def __init__(self, message: str, *, api: str | None = None, cid: str | None = None) -> None:
        where = f" (IPFS API {api})" if api else ""
        super().__init__(f"{message}{where}")
        self.api = api
        self.cid = cid


class CidMismatchError(IpfsError):
    """Bytes fetched for a CID do not hash to that CID: never use them."""

    transient = False


class InvalidCidError(IpfsError):
    """A string that is not a CID was given where a CID is expected."""

    transient = False


class ContentTooLargeError(IpfsError):
    """The file behind a CID is larger than the limit the caller set (only the limit was read)."""

    transient = False
