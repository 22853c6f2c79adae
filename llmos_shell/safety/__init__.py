"""Safety: the policy gate, the bash reader, the executor and the audit log."""
