"""Installation of the suite: three packages, two console scripts."""
import sys

from setuptools import Extension, find_packages, setup

INSTALL_REQUIRES = [
    # TensorFlow CPU build so CI and laptops install without CUDA; see README for the GPU install.
    # tensorflow-cpu has no macOS wheels; on macOS (arm64) the plain tensorflow wheel is the CPU build.
    "tensorflow-cpu>=2.18,<2.22; sys_platform != 'darwin'",
    "tensorflow>=2.18,<2.22; sys_platform == 'darwin'",
    "keras>=3.6,<4",
    "numpy>=2.0,<2.5",  # np.bitwise_count (the .bed bit counts)
    "scipy>=1.13,<1.18",
    "pandas>=2.2,<3.2",
    "statsmodels>=0.14,<0.16",
    "scikit-learn>=1.5,<1.10",
    # BLAS threads held at 1 around many small SVDs / fits (much faster on few, shared cores)
    "threadpoolctl>=3.1,<4",
    "matplotlib>=3.8,<3.12",
    "h5py>=3.10,<3.15",
    "pyfaidx>=0.8,<0.10",
    # pyfaidx reads bgzipped FASTA (the usual hg38.fa.gz) through BioPython's bgzf module
    "biopython>=1.80,<2",
    # no macOS wheel on PyPI: built there from source (needs Xcode's command-line tools)
    "pyBigWig>=0.3.22,<0.4",
    "pysnptools>=0.5.13,<0.6",
    "bed-reader>=1.0,<2",
    "pyranges>=0.1,<0.2",
    "msprime>=1.3,<1.5",
    "tskit>=0.5.8,<1.1",
    "tqdm>=4.66,<5",
    "dask>=2024.8",
    "distributed>=2024.8",
    "pooch>=1.8,<2",
    # liftover between genome builds from local UCSC chain files (C++ reader)
    "liftover>=1.3,<2",
    # Parquet summary statistics
    "pyarrow>=15",
]

# The LD-score bit kernel (stats/ld/_bitplanes.c), compiled at install; floating point in source order.
# optional: without a C compiler the install completes and LD scores use the BLAS kernel (with a warning).
BITPLANES = Extension("stats.ld._bitplanes", sources=["stats/ld/_bitplanes.c"], optional=True,
                      extra_compile_args=["/O2", "/fp:precise"] if sys.platform == "win32" else
                      ["-O3", "-ffp-contract=off"])

setup(
    name="genosuite",
    version="0.1.0",
    description=(
        "Sequence-model predictions (Basenji-family CNNs) and the statistical genetics that "
        "consumes them: SAD/SED, signed LD profiles, SLDP, LD-score covariate regression, PICS."
    ),
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="MIT",
    python_requires=">=3.10,<3.13",
    packages=find_packages(include=["genocore", "genocore.*", "genomodel", "genomodel.*", "stats", "stats.*", "analyses", "analyses.*"]),
    package_data={"genomodel": ["params/*.json"], "analyses": ["configs/*.json"]},
    ext_modules=[BITPLANES],
    install_requires=INSTALL_REQUIRES,
    extras_require={
        "test": ["pytest>=8", "pytest-xdist>=3.5"],
        # GPU machines: install TensorFlow with its CUDA wheels instead of the CPU build.
        "gpu": ["tensorflow[and-cuda]>=2.18,<2.22"],
    },
    entry_points={
        "console_scripts": [
            "genomodel = genomodel.cli:main",
            "genostats = analyses.commands:genostats_main",
        ]
    },
)
