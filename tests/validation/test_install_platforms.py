"""The install picks a TensorFlow that exists on each platform: tensorflow-cpu on Linux (no CUDA wheels
pulled in), the plain tensorflow wheel on macOS (tensorflow-cpu publishes none there), each pinned.

Offline: markers are evaluated with ``packaging``; ``validation/install_macos_arm64.py`` resolves the
whole pinned set against PyPI's macOS arm64 wheels.
"""
import importlib.util
from pathlib import Path

from packaging.requirements import Requirement

SCRIPT = Path(__file__).resolve().parents[2] / "validation" / "install_macos_arm64.py"
LINUX = {"os_name": "posix", "sys_platform": "linux", "platform_system": "Linux",
         "platform_machine": "x86_64", "python_version": "3.11", "python_full_version": "3.11.9",
         "implementation_name": "cpython", "platform_python_implementation": "CPython"}


def _load():
    spec = importlib.util.spec_from_file_location("install_macos_arm64", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _names(lines):
    return {Requirement(line).name.lower().replace("_", "-") for line in lines}


def test_each_platform_gets_a_tensorflow_build_that_has_wheels_and_a_pin():
    mod = _load()
    pins = (SCRIPT.parents[1] / "constraints.txt").read_text().splitlines()
    for env, wanted, unwanted in ((mod.MAC_ENV, "tensorflow", "tensorflow-cpu"),
                                  (LINUX, "tensorflow-cpu", "tensorflow")):
        reqs = _names(mod.for_platform(mod.install_requires(), env))
        assert wanted in reqs and unwanted not in reqs, env["sys_platform"]
        pinned = _names(mod.for_platform(pins, env))
        assert wanted in pinned and unwanted not in pinned, env["sys_platform"]
