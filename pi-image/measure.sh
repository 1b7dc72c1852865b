# Sourced by build.sh and customize.sh (the mmdebstrap hook runs in its own
# shell): one row of the slimming report per measured step, in KiB of
# apparent size (what the compressed image carries), appended to
# "$out/slim-report.tsv". Usage: measure_start NAME PATH ... measure_end NAME.
declare -A measured_path=() measured_before=()
measure_start() {
  measured_path[$1]=$2
  measured_before[$1]=$(du -sk --apparent-size "$2" 2>/dev/null | cut -f1 || echo 0)
}
measure_end() {
  local after
  after=$(du -sk --apparent-size "${measured_path[$1]}" 2>/dev/null | cut -f1 || echo 0)
  printf '%s\t%s\t%s\n' "$1" "${measured_before[$1]:-0}" "${after:-0}" >> "$out/slim-report.tsv"
}
