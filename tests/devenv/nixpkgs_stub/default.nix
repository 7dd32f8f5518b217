# A stand-in for <nixpkgs> (which cannot be fetched here) that knows only a closed
# list of attribute names, each a real nixpkgs attribute: a misspelt or invented
# package fails evaluation ("attribute missing") as it would with nixpkgs, and a
# Linux-only package fails when forced on macOS. It proves shell.nix evaluates and
# what it asks for; it cannot prove that the packages build.
{ system ? "x86_64-linux", ... }:
let
  isLinux = builtins.match ".*-linux" system != null;
  isDarwin = builtins.match ".*-darwin" system != null;
  drv = name: { type = "derivation"; pname = name; outPath = "/nix/store/stub-${name}"; };
  everywhere = [
    "python311" "gnumake" "git" "curl" "cacert" "docker-client" "docker-compose"
    "coreutils" "findutils" "gnugrep" "gnused" "gawk" "bash" "zlib" "which"
  ];
  linuxOnly = [ "bubblewrap" "chromium" "util-linux" "iproute2" "debootstrap" ];
  unsupported = name: throw "${name} is not available on ${system}";
  packages = builtins.listToAttrs (
    map (n: { name = n; value = drv n; }) everywhere
    ++ map (n: { name = n; value = if isLinux then drv n else unsupported n; }) linuxOnly
  );
  lib = {
    optionals = cond: list: if cond then list else [ ];
    optionalString = cond: s: if cond then s else "";
    makeLibraryPath = ps: builtins.concatStringsSep ":" (map (p: "${p}/lib") ps);
  };
  stdenv = { inherit isLinux isDarwin; cc.cc.lib = drv "gcc-lib"; };
  # What a test needs to see of the shell: the package names, its variables, its hook.
  mkShell = args: {
    name = args.name or "";
    packages = map (p: p.pname) (args.packages or [ ]);
    shellHook = args.shellHook or "";
    env = removeAttrs args [ "name" "packages" "shellHook" ];
  };
in
packages // { inherit lib stdenv mkShell system; }
