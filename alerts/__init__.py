"""The warning domain (the design card's `warnings/`)."""
