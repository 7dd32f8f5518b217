# Corral's development shell: `nix-shell --pure shell.nix`, then `make dev` / `make test`.
# Nix provides the system tools; the Python dependencies stay pinned in pyproject.toml
# and live in .venv (made by `make bootstrap` on first entry), exactly as elsewhere.
# Pin nixpkgs for full reproducibility: nix-shell -I nixpkgs=<tarball of a release>.
{ pkgs ? import <nixpkgs> { } }:

let
  inherit (pkgs) lib stdenv;
  python = pkgs.python311;

  # What the Makefile and scripts/ call, on every platform.
  common = [
    python            # make bootstrap: python3 -m venv (3.11, as CI)
    pkgs.gnumake      # every entry point
    pkgs.git
    pkgs.curl
    pkgs.cacert       # TLS for pip and git under --pure
    pkgs.docker-client  # make images / dev / test drive an engine you run (not Nix's job)
    pkgs.coreutils pkgs.findutils pkgs.gnugrep pkgs.gnused pkgs.gawk pkgs.bash
  ];

  # Linux only: the no-Docker sandbox, the browser tests, and `setpriv` (util-linux),
  # which the bwrap executor uses to drop to uid 10001 when run as root. iproute2: `ss`.
  linux = lib.optionals stdenv.isLinux [
    pkgs.bubblewrap
    pkgs.chromium
    pkgs.util-linux
    pkgs.iproute2
  ];
in
pkgs.mkShell {
  name = "corral";
  packages = common ++ linux;

  # pip installs manylinux wheels (duckdb, numpy, pandas); on NixOS they find
  # libstdc++ and zlib only through this.
  LD_LIBRARY_PATH = lib.optionalString stdenv.isLinux
    (lib.makeLibraryPath [ stdenv.cc.cc.lib pkgs.zlib ]);
  PYTHON = "${python}/bin/python3.11";
  PIP_DISABLE_PIP_VERSION_CHECK = "1";

  shellHook = ''
    # A .venv made by another Python (e.g. the distribution's) would mix two worlds.
    if [ -f .venv/pyvenv.cfg ] && ! grep -q "^home = ${python}/bin" .venv/pyvenv.cfg; then
      echo "corral: .venv was made by another Python; remove it (rm -rf .venv) to rebuild it with ${python}" >&2
    elif [ -f Makefile ]; then
      make --no-print-directory bootstrap PYTHON="$PYTHON" || echo "corral: make bootstrap failed (see above)" >&2
    fi
    if [ -f .venv/bin/activate ]; then
      . .venv/bin/activate
    fi
  '';
}
