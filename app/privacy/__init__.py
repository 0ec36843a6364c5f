"""Guest data rights across every domain: export, erasure, and the retention jobs of the data inventory."""
