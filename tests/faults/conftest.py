from tests.security.conftest import client_with

__all__ = ["client_with"]
