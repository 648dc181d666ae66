/// Python run by `Pydicom.references`: reads each path with pydicom and
/// prints one JSON object keyed by path. Kept as data so the Swift tests and
/// the reference stay in one place.
let dumpScript = #"""
    import sys, json, warnings
    warnings.simplefilter("ignore")
    import pydicom

    def s(v):
        return None if v is None else str(v)

    def structure(ds, depth, out):
        for elem in ds:
            tag = f"{elem.tag:08X}"
            if elem.VR == "SQ":
                out.append([depth, tag, "SQ", len(elem.value)])
                for item in elem.value:
                    structure(item, depth + 1, out)
            else:
                out.append([depth, tag, elem.VR, -1])

    KEYWORDS = ["SOPClassUID", "SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID",
                "PatientID", "PatientName", "PatientBirthDate", "PatientSex", "StudyDate",
                "StudyTime", "AccessionNumber", "Modality", "StudyDescription", "SeriesNumber",
                "InstanceNumber", "NumberOfFrames", "Rows", "Columns", "InstitutionName"]

    result = {}
    for path in sys.argv[1:]:
        r = {}
        try:
            ds = pydicom.dcmread(path)
        except Exception as e:
            result[path] = {"error": f"{type(e).__name__}: {e}"}
            continue
        meta = getattr(ds, "file_meta", None)
        ts = meta.get("TransferSyntaxUID") if meta is not None else None
        r["TransferSyntaxUID"] = s(ts)
        r["MediaStorageSOPClassUID"] = s(meta.get("MediaStorageSOPClassUID")) if meta is not None else None
        r["MediaStorageSOPInstanceUID"] = s(meta.get("MediaStorageSOPInstanceUID")) if meta is not None else None
        raw = ds.get_item(0x7FE00010)
        if raw is not None and hasattr(raw, "value_tell"):
            r["pixelValueTell"] = raw.value_tell
            r["pixelLength"] = raw.length
            if raw.length == 0xFFFFFFFF:
                from pydicom.encaps import parse_fragments
                # Counts the Basic Offset Table item too when given the whole value.
                r["fragmentCount"] = parse_fragments(ds.PixelData)[0]
        try:
            for kw in KEYWORDS:
                r[kw] = s(ds.get(kw))
            cs = ds.get("SpecificCharacterSet")
            r["SpecificCharacterSet"] = None if cs is None else ([cs] if isinstance(cs, str) else list(cs))
            out = []
            structure(ds, 0, out)
            r["structure"] = out
            waves = ds.get("WaveformSequence")
            if waves is not None:
                groups = []
                for g in waves:
                    labels = []
                    for c in g.get("ChannelDefinitionSequence", []):
                        label = c.get("ChannelLabel")
                        if not label:
                            src = c.get("ChannelSourceSequence")
                            label = src[0].get("CodeMeaning") if src else ""
                        labels.append(str(label or ""))
                    groups.append({"channels": g.get("NumberOfWaveformChannels"),
                                   "samples": g.get("NumberOfWaveformSamples"),
                                   "frequency": float(g.get("SamplingFrequency")),
                                   "label": s(g.get("MultiplexGroupLabel")),
                                   "labels": labels})
                r["ecg"] = groups
        except Exception as e:
            r["readError"] = f"{type(e).__name__}: {e}"
        try:
            r["json"] = ds.to_json_dict(bulk_data_threshold=1, bulk_data_element_handler=lambda e: "bulk")
        except Exception as e:
            r["jsonError"] = f"{type(e).__name__}: {e}"
        result[path] = r
    print(json.dumps(result))
    """#
