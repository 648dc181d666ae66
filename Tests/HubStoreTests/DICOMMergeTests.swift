import Foundation
import HubStore
import Testing

@Suite struct DICOMMergeTests {
    @Test func twoObjectsBecomeOneWithEveryMember() throws {
        let merged = DICOMStore.merge(
            #" {"00201206":{"vr":"IS","Value":[2]}} "#,
            "\n{\"00100010\":{\"vr\":\"PN\",\"Value\":[{\"Alphabetic\":\"王^小明\"}]}}\n")
        let object = try #require(JSONSerialization.jsonObject(with: Data(merged.utf8)) as? [String: Any])
        #expect(Set(object.keys) == ["00201206", "00100010"])
        #expect(merged.hasPrefix("{") && merged.hasSuffix("}"))
    }

    @Test func anEmptyObjectAddsNothing() {
        #expect(DICOMStore.merge("{}", #"{"a":1}"#) == #"{"a":1}"#)
        #expect(DICOMStore.merge(#" {"a":1} "#, " {} ") == #"{"a":1}"#)
        var text = "["
        DICOMStore.appendMerged(#"{"a":1}"#, #"{"b":2}"#, to: &text)
        #expect(text == #"[{"a":1,"b":2}"#)
    }
}
