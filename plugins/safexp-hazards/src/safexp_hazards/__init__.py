"""safexp scene elements (hazards, vases, ...) and the cost terms that read them."""
