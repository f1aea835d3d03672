"""Explaining predictions: saliency at the bin representation, in-silico saturation mutagenesis."""
