"""Basenji-family models built from named blocks: ``build_model(model_config) -> SeqNN``."""
