"""The machine a figure was measured on, read from Linux's ``/proc/cpuinfo``.

A model name such as "AMD EPYC" names neither the core generation nor its vector units,
and those decide which precision is fast: AVX-512 BF16 or AMX for bfloat16, VNNI for
int8. So every benchmark prints :func:`cpu_label`, which names both.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path

# The flags that change which kernels TensorFlow, oneDNN and XNNPACK pick.
WIDE_FLAGS = (
    "avx2",
    "avx512f",
    "avx512_vnni",
    "avx512_bf16",
    "avx_vnni",
    "amx_bf16",
    "amx_int8",
)


def cpu_facts(cpuinfo: str = "/proc/cpuinfo", mhz_override: float | None = None) -> dict:
    """Model name, vendor, family and model number, flags and clock (MHz) of the CPU.

    Args:
        cpuinfo: The file to read.
        mhz_override: The clock to assume instead (e.g. the rated boost clock, which a
            virtual machine's ``/proc/cpuinfo`` does not show).
    """
    facts = {
        "model": platform.processor() or "unknown",
        "vendor": "",
        "family": 0,
        "model_number": 0,
        "flags": set(),
    }
    mhz = []
    try:
        with open(cpuinfo, encoding="utf-8", errors="replace") as lines:
            for line in lines:
                key, _, value = line.partition(":")
                key, value = key.strip(), value.strip()
                if key == "model name":
                    facts["model"] = value
                elif key == "vendor_id":
                    facts["vendor"] = value
                elif key == "cpu family":
                    facts["family"] = int(value)
                elif key == "model":
                    facts["model_number"] = int(value)
                elif key == "flags":
                    facts["flags"] = set(value.split())
                elif key == "cpu MHz":
                    mhz.append(float(value))
    except OSError:
        pass
    # The rated maximum when the kernel knows it; a VM often only reports the base clock.
    max_khz = Path("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq")
    facts["mhz"] = int(max_khz.read_text()) / 1000 if max_khz.is_file() else max(mhz, default=0)
    facts["mhz_source"] = "cpuinfo_max_freq" if max_khz.is_file() else "/proc/cpuinfo cpu MHz"
    if mhz_override:
        facts["mhz"], facts["mhz_source"] = mhz_override, "--mhz"
    facts["cores"] = len(os.sched_getaffinity(0))
    return facts


def cpu_label(facts: dict | None = None) -> str:
    """One line naming the CPU for a table's header.

    For example ``AMD EPYC (family 25 model 1), 2 cores, avx2, no AVX-512/AMX``.
    """
    facts = cpu_facts() if facts is None else facts
    wide = [flag for flag in WIDE_FLAGS if flag in facts["flags"]]
    if not any(flag.startswith(("avx512", "amx")) for flag in wide):
        wide.append("no AVX-512/AMX")
    identity = f"family {facts['family']} model {facts['model_number']}"
    return f"{facts['model']} ({identity}), {facts['cores']} cores, {', '.join(wide)}"
