"""Privacy use cases: a guest's export and erasure (asking each domain for its part), and retention."""

from app.privacy.services.erasure import ErasureResult, check_erasure_credentials, erase_guest, erase_own_account
from app.privacy.services.export import export_guest, staff_export

__all__ = ["ErasureResult", "check_erasure_credentials", "erase_guest", "erase_own_account", "export_guest",
           "staff_export"]
