"""Password login for Trường Số: nativeauthenticator's hashes and lock-out, our directory's classes and roles."""

from hub.auth.authenticator import TruongSoAuthenticator

__all__ = ["TruongSoAuthenticator"]
