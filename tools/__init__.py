"""The built-in tool plugins, one module per family, written as any third-party plugin is."""
