import Foundation
import Testing

@testable import DICOM

@Suite struct JSONWriterTests {
    static let stored =
        #"{"00080020":{"vr":"DA","Value":["20260301"]},"00100010":{"vr":"PN","Value":[{"Alphabetic":"Wang^{\"}"}]},"#
        + #""00200013":{"vr":"IS","Value":[7]}}"#

    @Test func attributesAreWrittenFromTheirTagsVRsAndValues() throws {
        var json = DICOMJSONWriter()
        json.array { json in
            json.object { json in
                json.attribute(.retrieveURL, .UR, strings: ["https://hub.example/dicomweb/studies/1.2"])
                json.attribute(.numberOfStudyRelatedSeries, .IS, integers: [2])
                json.attribute(.modalitiesInStudy, .CS, strings: [])
                json.sequence(.referencedSOPSequence, ["1.2.3", "1.2.4"]) { item, uid in
                    item.attribute(.referencedSOPInstanceUID, .UI, strings: [uid])
                }
            }
            json.object { _ in }
        }
        #expect(
            json.text
                == #"[{"00081190":{"vr":"UR","Value":["https://hub.example/dicomweb/studies/1.2"]},"#
                + #""00201206":{"vr":"IS","Value":[2]},"00080061":{"vr":"CS","Value":[]},"#
                + #""00081199":{"vr":"SQ","Value":[{"00081155":{"vr":"UI","Value":["1.2.3"]}},"#
                + #"{"00081155":{"vr":"UI","Value":["1.2.4"]}}]}},{}]"#)
    }

    @Test func storedAttributesAreCopiedInAsTheyAre() {
        var json = DICOMJSONWriter()
        json.object { json in
            json.attribute(.numberOfSeriesRelatedInstances, .IS, integers: [1])
            json.members(of: Self.stored)
            json.members(of: " {} ")
            json.members(of: "\n{\"00200011\":{\"vr\":\"IS\",\"Value\":[3]}}\n")
        }
        #expect(
            json.text
                == #"{"00201209":{"vr":"IS","Value":[1]},"# + Self.stored.dropFirst().dropLast()
                + #","00200011":{"vr":"IS","Value":[3]}}"#)
    }

    @Test func onlyTheAttributesAskedForAreKeptInTheirOrder() throws {
        var json = DICOMJSONWriter()
        json.object { $0.members(of: Self.stored, keeping: [.instanceNumber, .patientName, .seriesNumber]) }
        #expect(
            json.text
                == #"{"00100010":{"vr":"PN","Value":[{"Alphabetic":"Wang^{\"}"}]},"00200013":{"vr":"IS","Value":[7]}}"#
        )
        var none = DICOMJSONWriter()
        none.object { $0.members(of: Self.stored, keeping: [.seriesNumber]) }
        #expect(none.text == "{}")
        var broken = DICOMJSONWriter()
        broken.object { $0.members(of: #"{"00080020":{"vr":"DA""#, keeping: [.studyDate]) }
        #expect(broken.text == "{}")
    }
}
