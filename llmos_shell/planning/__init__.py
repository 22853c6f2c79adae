"""Planning: from a request to the next tool call or answer, and from a request to a command."""
