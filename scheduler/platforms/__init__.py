"""The platforms factpost publishes to: one module each (x.py, facebook.py), opening with its
spec and ending with its publisher; the contract they keep (base.py, spec.py, billing.py); the
HTTP plumbing they share (http.py); and the registry that lists them (registry.py)."""
