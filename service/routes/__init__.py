"""HTTP routes, one module per area; each route only validates, delegates and shapes the answer."""
