"""Readers and writers of the model half: FASTA, BigWig, TFRecord records, VCF, GTF (with the model's
0-based TSSs), motifs, target subsets and the attribution HDF5 layouts. Variant scores, TSSs and BED
intervals that the statistics half also reads are in :mod:`genocore`."""
