"""OpenAPI document models and generation."""
