"""Physics shared by every solver: exact solutions and residuals (physics.md)."""
