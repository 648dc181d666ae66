#!/usr/bin/env bash
# Builds the libFuzzer harnesses and fuzzes each for SECONDS (default 60): the DICOM parser, its corpus seeded with
# pydicom's bundled files when pydicom is installed, then the DIMSE reader (PDUs, negotiation, message assembly).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
mkdir -p .build/fuzz-corpus .build/fuzz-corpus-dimse .build/fuzz-artifacts
swiftc -sanitize=fuzzer,address -parse-as-library -O -module-name DICOMFuzz -use-ld=lld \
    -I Sources/CZlib Fuzz/DICOMFuzz.swift Sources/DICOM/*.swift -o .build/dicomfuzz
swiftc -sanitize=fuzzer,address -parse-as-library -O -module-name DIMSEFuzz -use-ld=lld \
    Fuzz/DIMSEFuzz.swift Sources/DIMSE/*.swift -o .build/dimsefuzz
if dir=$(python3 -c "import pydicom, os; print(os.path.dirname(pydicom.__file__))" 2>/dev/null); then
    find "$dir/data/test_files" "$dir/data/charset_files" -name '*.dcm' -size -64k -exec cp {} .build/fuzz-corpus/ \;
fi
.build/dicomfuzz -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 -timeout=10 \
    -artifact_prefix=.build/fuzz-artifacts/ .build/fuzz-corpus
.build/dimsefuzz -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 -timeout=10 \
    -artifact_prefix=.build/fuzz-artifacts/dimse- .build/fuzz-corpus-dimse
