"""Service layer: one function per command, each in one transaction, publishing after commit."""
