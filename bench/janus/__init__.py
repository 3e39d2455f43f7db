"""A private, loopback-only Janus (VideoRoom) for bench/sfu.py: config templates, shim, runner."""
