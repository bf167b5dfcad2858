#!/usr/bin/python3
"""Runs the MLPerf Tiny host runner, unmodified, against a DUT on a pseudo-terminal.

The runner (benchmark/runner/ of the user's own checkout of mlcommons/tiny) finds its device
under test only by USB vendor and product id. An emulated board (`edgec emulate <build> --pty
<link>`) has no USB identity, so this wrapper lists the pty, in-process, as the USB serial port
of the DUT named in the runner's device file, reports no other USB devices, and then runs the
runner's main.py with the remaining arguments. Nothing is downloaded or built.

    /usr/bin/python3 scripts/mlperf-tiny-runner.py --runner <tiny>/benchmark/runner --port <link> \\
        --dataset_path <datasets> [--mode a] [--device_list devices_kws_ic_vww.yaml] [main.py options]

The runner writes its session logs under sessions/ in its own folder.
Needs the runner's Python packages (Debian: python3-numpy, -sklearn, -yaml, -serial, -usb, -matplotlib).
"""

import argparse
import os
import runpy
import sys

import serial.tools.list_ports
import serial.tools.list_ports_common
import usb.core
import yaml


def dut_usb_id(device_file):
    """The first vendor and product id of the last DUT in the runner's device file (the runner uses the last)."""
    with open(device_file) as f:
        devices = yaml.safe_load(f)
    duts = [d for d in devices if d.get("type") == "dut" and d.get("usb")]
    if not duts:
        sys.exit(f"{device_file} names no DUT with a USB id")
    vid, pids = next(iter(duts[-1]["usb"].items()))
    return vid, pids[0] if isinstance(pids, list) else pids


def pty_as_usb_port(path, vid, pid):
    port = serial.tools.list_ports_common.ListPortInfo(path, skip_link_detection=True)
    port.vid, port.pid = vid, pid
    port.description = f"emulated board on {path}"
    return port


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runner", required=True, help="benchmark/runner folder of a checkout of mlcommons/tiny")
    parser.add_argument("--port", required=True, help="the DUT's serial port, e.g. the link edgec emulate --pty made")
    parser.add_argument("--dataset_path", required=True, help="folder holding the data set folders (ic01/, kws01/, ...)")
    parser.add_argument("--device_list", default="devices_kws_ic_vww.yaml", help="the runner's device file (default: %(default)s)")
    ours, theirs = parser.parse_known_args()

    runner = os.path.abspath(ours.runner)
    port = os.path.abspath(ours.port)
    if not os.path.exists(os.path.join(runner, "main.py")):
        sys.exit(f"{runner} has no main.py: give the benchmark/runner folder of a checkout of mlcommons/tiny")
    if not os.path.exists(port):
        sys.exit(f"{port} does not exist: start the board first (edgec emulate <build> --pty {ours.port})")
    datasets = os.path.abspath(ours.dataset_path)
    # The runner opens its yaml files, its sessions/ folder and its modules relative to itself.
    os.chdir(runner)
    sys.path.insert(0, runner)

    vid, pid = dut_usb_id(ours.device_list)
    serial.tools.list_ports.comports = lambda include_links=False: [pty_as_usb_port(port, vid, pid)]
    usb.core.find = lambda *args, **kwargs: [] if kwargs.get("find_all") else None

    sys.argv = ["main.py", "--device_list", ours.device_list, "--dataset_path", datasets, *theirs]
    runpy.run_path(os.path.join(runner, "main.py"), run_name="__main__")


if __name__ == "__main__":
    main()
