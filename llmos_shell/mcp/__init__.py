"""The MCP server front end: llmos's tools for other agents (`llmos mcp serve`)."""
