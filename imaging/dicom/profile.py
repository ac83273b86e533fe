"""PS3.15 Annex E attribute table as versioned data, and the policy that turns it into actions.

Source
------
DICOM PS3.15 (Security and System Management Profiles), Annex E "Attribute Confidentiality
Profiles", Table E.1-1 "Application Level Confidentiality Profile Attributes", edition 2023e.
The basic-profile column was transcribed from the 2023e table as extracted in
KitwareMedical/dicom-anonymizer (dicomanonymizer/dicom_anonymization_databases/dicomfields_2023.py);
the option columns used here (Retain Patient Characteristics, Retain Device Identity) from the
machine-readable extraction innolitics/dicom-standard (standard/confidentiality_profile_attributes.json,
commit 0d01bf11). The Retain Longitudinal Temporal Information with Full Dates column is K for every
DA/DT/TM attribute of the table (PS3.15 E.3.6: "any dates and times present in the Attributes shall be
retained"), plus Timezone Offset From UTC and Frame Origin Timestamp, which the table also marks K;
except Patient's Birth Date, Patient's Birth Time and GPS Time Stamp, whose Full Dates cell is empty
(a birth date is not longitudinal information: it stays Z, and Patient's Age is what is retained).
Keywords are pydicom 3's data-dictionary keywords for the tags.

To update: replace ATTRIBUTES with the rows of a newer edition, bump STANDARD_EDITION and
PROFILE_VERSION (the version is written into every de-identified file's De-identification Method, so a
file always says which table produced it). tests/test_deid.py checks the invariants the code relies on.

Row format: (tag, keyword, basic profile action, Retain Longitudinal Full Dates action,
Retain Patient Characteristics action, Retain Device Identity action); "" = the option does not
change the basic action. Actions as in the standard: X remove, Z zero length, D dummy value,
K keep, C clean, U replace UID, and the compound X/Z, X/D, X/Z/D, Z/D, X/Z/U*.

Rows of the table handled by rule rather than by tag (see deid.py): private attributes (groups with
an odd number: removed except PRIVATE_KEEP), Curve Data (50xx,xxxx) and Overlay Data / Comments
(60xx,3000 / 60xx,4000): the whole repeating groups 50xx and 60xx are removed.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

PROFILE_VERSION = "1.0"
STANDARD = "DICOM PS3.15 Annex E, Table E.1-1"
STANDARD_EDITION = "2023e"
SOURCE = (
    "DICOM PS3.15 2023e Table E.1-1, basic-profile column via KitwareMedical/dicom-anonymizer "
    "dicomfields_2023.py; option columns via innolitics/dicom-standard confidentiality_profile_attributes.json"
)

# Concrete actions the de-identifier carries out (the table's compound actions resolve to one of these).
REMOVE = "X"
EMPTY = "Z"
DUMMY = "D"
KEEP = "K"
NEW_UID = "U"
KEEP_SEQUENCE_NEW_UIDS = "U*"  # X/Z/U*: keep the sequence, replace the instance UIDs inside it

# CID 7050 codes (scheme DCM) written to De-identification Method Code Sequence.
CODE_BASIC_PROFILE = ("113100", "Basic Application Confidentiality Profile")
CODE_FULL_DATES = ("113106", "Retain Longitudinal Temporal Information Full Dates Option")
CODE_PATIENT_CHARACTERISTICS = ("113108", "Retain Patient Characteristics Option")
CODE_DEVICE_IDENTITY = ("113109", "Retain Device Identity Option")


class Row(NamedTuple):
    tag: int
    keyword: str
    basic: str
    full_dates: str
    patient_characteristics: str
    device_identity: str


@dataclass(frozen=True)
class Options:
    """The options of the profile this platform applies (all three on; PS3.15 E.3)."""

    retain_full_dates: bool = True
    retain_patient_characteristics: bool = True
    retain_device_identity: bool = True

    def codes(self) -> list[tuple[str, str]]:
        codes = [CODE_BASIC_PROFILE]
        if self.retain_full_dates:
            codes.append(CODE_FULL_DATES)
        if self.retain_patient_characteristics:
            codes.append(CODE_PATIENT_CHARACTERISTICS)
        if self.retain_device_identity:
            codes.append(CODE_DEVICE_IDENTITY)
        return codes

    def method(self) -> list[str]:
        """De-identification Method (0012,0063) values: LO, at most 64 characters each, VM 1-n."""
        parts = ["PS3.15 E.1 Basic Profile"]
        if self.retain_full_dates:
            parts.append("Retain Longitudinal Full Dates")
        if self.retain_patient_characteristics:
            parts.append("Retain Patient Characteristics")
        if self.retain_device_identity:
            parts.append("Retain Device Identity")
        parts.append(f"NBNM profile {PROFILE_VERSION} (table {STANDARD_EDITION})")
        return parts


DEFAULT_OPTIONS = Options()


@dataclass(frozen=True)
class PrivateKeep:
    """A private element kept for quantification, identified by its block's Private Creator."""

    group: int
    creator: str
    element: int  # the low byte of the element number inside the block, e.g. 0x00 for (7053,xx00)
    meaning: str


# Private attributes are removed (basic profile X) except these, which SUV needs (reference section 5).
PRIVATE_KEEP: tuple[PrivateKeep, ...] = (
    PrivateKeep(0x7053, "Philips PET Private Group", 0x00, "SUV Scale Factor (Units CNTS)"),
    PrivateKeep(0x7053, "Philips PET Private Group", 0x09, "Activity Concentration Scale Factor (CNTS to Bq/ml)"),
    PrivateKeep(0x0009, "GEMS_PETD_01", 0x0D, "PET scan DateTime (GE scan-time rule)"),
)

# Compound actions "X unless Z/D is required for IOD conformance": the attributes of our modalities'
# IODs (PET, NM, CT, Enhanced CT, SR, SC) for which the empty or dummy form is required. Everything
# else with a compound action is removed. Dates are kept by the Full Dates option before this applies.
EMPTY_NOT_REMOVED = frozenset({
    0x00400555,  # Acquisition Context Sequence: Type 2 in the Acquisition Context module (Enhanced CT)
})
DUMMY_NOT_REMOVED: frozenset[int] = frozenset()

# D on a sequence: these are cleaned item by item (the profile applied inside) rather than replaced,
# because their content is what the platform imports (dose SRs) and every identifying attribute
# inside them has its own row. Other D sequences are replaced by an empty sequence.
CLEAN_INSIDE_SEQUENCES = frozenset({
    0x0040A730,  # Content Sequence (SR content tree: PNAME -> dummy, UIDREF -> new UID, dates kept)
    0x0040A073,  # Verifying Observer Sequence (name, organisation -> dummy; code sequence -> empty)
})


def resolve(row: Row, options: Options = DEFAULT_OPTIONS) -> str:
    """The concrete action for one row under the options (an option's action overrides the profile)."""
    if options.retain_full_dates and row.full_dates:
        return KEEP if row.full_dates == "K" else REMOVE
    if options.retain_patient_characteristics and row.patient_characteristics:
        return KEEP if row.patient_characteristics == "K" else REMOVE  # C (clean): we do not clean text
    if options.retain_device_identity and row.device_identity:
        return KEEP if row.device_identity == "K" else REMOVE
    action = row.basic
    if action in (REMOVE, EMPTY, DUMMY, KEEP, NEW_UID):
        return action
    if action == "X/Z/U*":
        return KEEP_SEQUENCE_NEW_UIDS
    if action == "Z/D":
        return DUMMY if row.tag in DUMMY_NOT_REMOVED else EMPTY
    if action in ("X/Z", "X/D", "X/Z/D"):
        if row.tag in EMPTY_NOT_REMOVED:
            return EMPTY
        if row.tag in DUMMY_NOT_REMOVED:
            return DUMMY
        return REMOVE
    if action == "C":
        return REMOVE
    raise ValueError(f"unknown action {action!r} for {row.keyword}")


def actions(options: Options = DEFAULT_OPTIONS) -> dict[int, str]:
    """tag -> concrete action for every row of the table."""
    return {row.tag: resolve(row, options) for row in ATTRIBUTES}


ATTRIBUTES: tuple[Row, ...] = tuple(Row(*r) for r in (
    (0x00001000, "AffectedSOPInstanceUID", "X", "", "", ""),
    (0x00001001, "RequestedSOPInstanceUID", "U", "", "", ""),
    (0x00020003, "MediaStorageSOPInstanceUID", "U", "", "", ""),
    (0x00041511, "ReferencedSOPInstanceUIDInFile", "U", "", "", ""),
    (0x00080012, "InstanceCreationDate", "X/D", "K", "", ""),
    (0x00080013, "InstanceCreationTime", "X/Z/D", "K", "", ""),
    (0x00080014, "InstanceCreatorUID", "U", "", "", ""),
    (0x00080015, "InstanceCoercionDateTime", "X", "K", "", ""),
    (0x00080017, "AcquisitionUID", "U", "", "", ""),
    (0x00080018, "SOPInstanceUID", "U", "", "", ""),
    (0x00080019, "PyramidUID", "U", "", "", ""),
    (0x00080020, "StudyDate", "Z", "K", "", ""),
    (0x00080021, "SeriesDate", "X/D", "K", "", ""),
    (0x00080022, "AcquisitionDate", "X/Z", "K", "", ""),
    (0x00080023, "ContentDate", "Z/D", "K", "", ""),
    (0x00080024, "OverlayDate", "X", "K", "", ""),
    (0x00080025, "CurveDate", "X", "K", "", ""),
    (0x0008002A, "AcquisitionDateTime", "X/Z/D", "K", "", ""),
    (0x00080030, "StudyTime", "Z", "K", "", ""),
    (0x00080031, "SeriesTime", "X/D", "K", "", ""),
    (0x00080032, "AcquisitionTime", "X/Z", "K", "", ""),
    (0x00080033, "ContentTime", "Z/D", "K", "", ""),
    (0x00080034, "OverlayTime", "X", "K", "", ""),
    (0x00080035, "CurveTime", "X", "K", "", ""),
    (0x00080050, "AccessionNumber", "Z", "", "", ""),
    (0x00080054, "RetrieveAETitle", "X", "", "", ""),
    (0x00080055, "StationAETitle", "X", "", "", ""),
    (0x00080058, "FailedSOPInstanceUIDList", "U", "", "", ""),
    (0x00080080, "InstitutionName", "X/Z/D", "", "", ""),
    (0x00080081, "InstitutionAddress", "X", "", "", ""),
    (0x00080082, "InstitutionCodeSequence", "X/Z/D", "", "", ""),
    (0x00080090, "ReferringPhysicianName", "Z", "", "", ""),
    (0x00080092, "ReferringPhysicianAddress", "X", "", "", ""),
    (0x00080094, "ReferringPhysicianTelephoneNumbers", "X", "", "", ""),
    (0x00080096, "ReferringPhysicianIdentificationSequence", "X", "", "", ""),
    (0x0008009C, "ConsultingPhysicianName", "Z", "", "", ""),
    (0x0008009D, "ConsultingPhysicianIdentificationSequence", "X", "", "", ""),
    (0x00080106, "ContextGroupVersion", "D", "K", "", ""),
    (0x00080107, "ContextGroupLocalVersion", "D", "K", "", ""),
    (0x00080201, "TimezoneOffsetFromUTC", "X", "K", "", ""),
    (0x00081000, "NetworkID", "X", "", "", ""),
    (0x00081010, "StationName", "X/Z/D", "", "", "K"),
    (0x00081030, "StudyDescription", "X", "", "", ""),
    (0x0008103E, "SeriesDescription", "X", "", "", ""),
    (0x00081040, "InstitutionalDepartmentName", "X", "", "", ""),
    (0x00081041, "InstitutionalDepartmentTypeCodeSequence", "X", "", "", ""),
    (0x00081048, "PhysiciansOfRecord", "X", "", "", ""),
    (0x00081049, "PhysiciansOfRecordIdentificationSequence", "X", "", "", ""),
    (0x00081050, "PerformingPhysicianName", "X", "", "", ""),
    (0x00081052, "PerformingPhysicianIdentificationSequence", "X", "", "", ""),
    (0x00081060, "NameOfPhysiciansReadingStudy", "X", "", "", ""),
    (0x00081062, "PhysiciansReadingStudyIdentificationSequence", "X", "", "", ""),
    (0x00081070, "OperatorsName", "X/Z/D", "", "", ""),
    (0x00081072, "OperatorIdentificationSequence", "X/D", "", "", ""),
    (0x00081080, "AdmittingDiagnosesDescription", "X", "", "", ""),
    (0x00081084, "AdmittingDiagnosesCodeSequence", "X", "", "", ""),
    (0x00081088, "PyramidDescription", "X", "", "", ""),
    (0x00081110, "ReferencedStudySequence", "X/Z", "", "", ""),
    (0x00081111, "ReferencedPerformedProcedureStepSequence", "X/Z/D", "", "", ""),
    (0x00081120, "ReferencedPatientSequence", "X", "", "", ""),
    (0x00081140, "ReferencedImageSequence", "X/Z/U*", "", "", ""),
    (0x00081155, "ReferencedSOPInstanceUID", "U", "", "", ""),
    (0x00081195, "TransactionUID", "U", "", "", ""),
    (0x00082111, "DerivationDescription", "X", "", "", ""),
    (0x00082112, "SourceImageSequence", "X/Z/U*", "", "", ""),
    (0x00083010, "IrradiationEventUID", "U", "", "", ""),
    (0x00084000, "IdentifyingComments", "X", "", "", ""),
    (0x00100010, "PatientName", "Z", "", "", ""),
    (0x00100020, "PatientID", "Z", "", "", ""),
    (0x00100021, "IssuerOfPatientID", "X", "", "", ""),
    (0x00100030, "PatientBirthDate", "Z", "", "", ""),
    (0x00100032, "PatientBirthTime", "X", "", "", ""),
    (0x00100040, "PatientSex", "Z", "", "K", ""),
    (0x00100050, "PatientInsurancePlanCodeSequence", "X", "", "", ""),
    (0x00100101, "PatientPrimaryLanguageCodeSequence", "X", "", "", ""),
    (0x00100102, "PatientPrimaryLanguageModifierCodeSequence", "X", "", "", ""),
    (0x00101000, "OtherPatientIDs", "X", "", "", ""),
    (0x00101001, "OtherPatientNames", "X", "", "", ""),
    (0x00101002, "OtherPatientIDsSequence", "X", "", "", ""),
    (0x00101005, "PatientBirthName", "X", "", "", ""),
    (0x00101010, "PatientAge", "X", "", "K", ""),
    (0x00101020, "PatientSize", "X", "", "K", ""),
    (0x00101030, "PatientWeight", "X", "", "K", ""),
    (0x00101040, "PatientAddress", "X", "", "", ""),
    (0x00101050, "InsurancePlanIdentification", "X", "", "", ""),
    (0x00101060, "PatientMotherBirthName", "X", "", "", ""),
    (0x00101080, "MilitaryRank", "X", "", "", ""),
    (0x00101081, "BranchOfService", "X", "", "", ""),
    (0x00101090, "MedicalRecordLocator", "X", "", "", ""),
    (0x00101100, "ReferencedPatientPhotoSequence", "X", "", "", ""),
    (0x00102000, "MedicalAlerts", "X", "", "", ""),
    (0x00102110, "Allergies", "X", "", "C", ""),
    (0x00102150, "CountryOfResidence", "X", "", "", ""),
    (0x00102152, "RegionOfResidence", "X", "", "", ""),
    (0x00102154, "PatientTelephoneNumbers", "X", "", "", ""),
    (0x00102155, "PatientTelecomInformation", "X", "", "", ""),
    (0x00102160, "EthnicGroup", "X", "", "K", ""),
    (0x00102180, "Occupation", "X", "", "", ""),
    (0x001021A0, "SmokingStatus", "X", "", "K", ""),
    (0x001021B0, "AdditionalPatientHistory", "X", "", "", ""),
    (0x001021C0, "PregnancyStatus", "X", "", "K", ""),
    (0x001021D0, "LastMenstrualDate", "X", "K", "", ""),
    (0x001021F0, "PatientReligiousPreference", "X", "", "", ""),
    (0x00102203, "PatientSexNeutered", "X/Z", "", "K", ""),
    (0x00102297, "ResponsiblePerson", "X", "", "", ""),
    (0x00102299, "ResponsibleOrganization", "X", "", "", ""),
    (0x00104000, "PatientComments", "X", "", "", ""),
    (0x00120010, "ClinicalTrialSponsorName", "D", "", "", ""),
    (0x00120020, "ClinicalTrialProtocolID", "D", "", "", ""),
    (0x00120021, "ClinicalTrialProtocolName", "Z", "", "", ""),
    (0x00120030, "ClinicalTrialSiteID", "Z", "", "", ""),
    (0x00120031, "ClinicalTrialSiteName", "Z", "", "", ""),
    (0x00120040, "ClinicalTrialSubjectID", "D", "", "", ""),
    (0x00120042, "ClinicalTrialSubjectReadingID", "D", "", "", ""),
    (0x00120050, "ClinicalTrialTimePointID", "Z", "", "", ""),
    (0x00120051, "ClinicalTrialTimePointDescription", "X", "", "", ""),
    (0x00120060, "ClinicalTrialCoordinatingCenterName", "Z", "", "", ""),
    (0x00120071, "ClinicalTrialSeriesID", "X", "", "", ""),
    (0x00120072, "ClinicalTrialSeriesDescription", "X", "", "", ""),
    (0x00120081, "ClinicalTrialProtocolEthicsCommitteeName", "D", "", "", ""),
    (0x00120082, "ClinicalTrialProtocolEthicsCommitteeApprovalNumber", "X", "", "", ""),
    (0x00120086, "EthicsCommitteeApprovalEffectivenessStartDate", "X", "K", "", ""),
    (0x00120087, "EthicsCommitteeApprovalEffectivenessEndDate", "X", "K", "", ""),
    (0x0014407C, "CalibrationTime", "X", "K", "", ""),
    (0x0014407E, "CalibrationDate", "X", "K", "", ""),
    (0x0016002B, "MakerNote", "X", "", "", ""),
    (0x0016004B, "DeviceSettingDescription", "X", "", "", ""),
    (0x0016004D, "CameraOwnerName", "X", "", "", ""),
    (0x0016004E, "LensSpecification", "X", "", "", "K"),
    (0x0016004F, "LensMake", "X", "", "", "K"),
    (0x00160050, "LensModel", "X", "", "", "K"),
    (0x00160051, "LensSerialNumber", "X", "", "", "K"),
    (0x00160070, "GPSVersionID", "X", "", "", ""),
    (0x00160071, "GPSLatitudeRef", "X", "", "", ""),
    (0x00160072, "GPSLatitude", "X", "", "", ""),
    (0x00160073, "GPSLongitudeRef", "X", "", "", ""),
    (0x00160074, "GPSLongitude", "X", "", "", ""),
    (0x00160075, "GPSAltitudeRef", "X", "", "", ""),
    (0x00160076, "GPSAltitude", "X", "", "", ""),
    (0x00160077, "GPSTimeStamp", "X", "", "", ""),
    (0x00160078, "GPSSatellites", "X", "", "", ""),
    (0x00160079, "GPSStatus", "X", "", "", ""),
    (0x0016007A, "GPSMeasureMode", "X", "", "", ""),
    (0x0016007B, "GPSDOP", "X", "", "", ""),
    (0x0016007C, "GPSSpeedRef", "X", "", "", ""),
    (0x0016007D, "GPSSpeed", "X", "", "", ""),
    (0x0016007E, "GPSTrackRef", "X", "", "", ""),
    (0x0016007F, "GPSTrack", "X", "", "", ""),
    (0x00160080, "GPSImgDirectionRef", "X", "", "", ""),
    (0x00160081, "GPSImgDirection", "X", "", "", ""),
    (0x00160082, "GPSMapDatum", "X", "", "", ""),
    (0x00160083, "GPSDestLatitudeRef", "X", "", "", ""),
    (0x00160084, "GPSDestLatitude", "X", "", "", ""),
    (0x00160085, "GPSDestLongitudeRef", "X", "", "", ""),
    (0x00160086, "GPSDestLongitude", "X", "", "", ""),
    (0x00160087, "GPSDestBearingRef", "X", "", "", ""),
    (0x00160088, "GPSDestBearing", "X", "", "", ""),
    (0x00160089, "GPSDestDistanceRef", "X", "", "", ""),
    (0x0016008A, "GPSDestDistance", "X", "", "", ""),
    (0x0016008B, "GPSProcessingMethod", "X", "", "", ""),
    (0x0016008C, "GPSAreaInformation", "X", "", "", ""),
    (0x0016008D, "GPSDateStamp", "X", "K", "", ""),
    (0x0016008E, "GPSDifferential", "X", "", "", ""),
    (0x00180010, "ContrastBolusAgent", "Z/D", "", "", ""),
    (0x00180027, "InterventionDrugStopTime", "X", "K", "", ""),
    (0x00180035, "InterventionDrugStartTime", "X", "K", "", ""),
    (0x00181000, "DeviceSerialNumber", "X/Z/D", "", "", "K"),
    (0x00181002, "DeviceUID", "U", "", "", "K"),
    (0x00181004, "PlateID", "X", "", "", "K"),
    (0x00181005, "GeneratorID", "X", "", "", "K"),
    (0x00181007, "CassetteID", "X", "", "", "K"),
    (0x00181008, "GantryID", "X", "", "", "K"),
    (0x00181009, "UniqueDeviceIdentifier", "X", "", "", "K"),
    (0x0018100A, "UDISequence", "X", "", "", "K"),
    (0x0018100B, "ManufacturerDeviceClassUID", "U", "", "", "K"),
    (0x00181012, "DateOfSecondaryCapture", "X", "K", "", ""),
    (0x00181014, "TimeOfSecondaryCapture", "X", "K", "", ""),
    (0x00181030, "ProtocolName", "X/D", "", "", ""),
    (0x00181042, "ContrastBolusStartTime", "X", "K", "", ""),
    (0x00181043, "ContrastBolusStopTime", "X", "K", "", ""),
    (0x00181072, "RadiopharmaceuticalStartTime", "X", "K", "", ""),
    (0x00181073, "RadiopharmaceuticalStopTime", "X", "K", "", ""),
    (0x00181078, "RadiopharmaceuticalStartDateTime", "X", "K", "", ""),
    (0x00181079, "RadiopharmaceuticalStopDateTime", "X", "K", "", ""),
    (0x001811BB, "AcquisitionFieldOfViewLabel", "D", "", "", ""),
    (0x00181200, "DateOfLastCalibration", "X", "K", "", ""),
    (0x00181201, "TimeOfLastCalibration", "X", "K", "", ""),
    (0x00181202, "DateTimeOfLastCalibration", "X", "K", "", ""),
    (0x00181203, "CalibrationDateTime", "Z", "K", "", ""),
    (0x00181204, "DateOfManufacture", "X", "K", "", ""),
    (0x00181205, "DateOfInstallation", "X", "K", "", ""),
    (0x00181400, "AcquisitionDeviceProcessingDescription", "X/D", "", "", ""),
    (0x00182042, "TargetUID", "U", "", "", ""),
    (0x00184000, "AcquisitionComments", "X", "", "", ""),
    (0x00185011, "TransducerIdentificationSequence", "X", "", "", "K"),
    (0x0018700A, "DetectorID", "X/D", "", "", "K"),
    (0x0018700C, "DateOfLastDetectorCalibration", "X/D", "K", "", ""),
    (0x0018700E, "TimeOfLastDetectorCalibration", "X/D", "K", "", ""),
    (0x00189074, "FrameAcquisitionDateTime", "D", "K", "", ""),
    (0x00189151, "FrameReferenceDateTime", "D", "K", "", ""),
    (0x00189185, "RespiratoryMotionCompensationTechniqueDescription", "X", "", "", ""),
    (0x00189367, "XRaySourceID", "D", "", "", "K"),
    (0x00189369, "SourceStartDateTime", "D", "K", "", ""),
    (0x0018936A, "SourceEndDateTime", "D", "K", "", ""),
    (0x00189371, "XRayDetectorID", "D", "", "", "K"),
    (0x00189373, "XRayDetectorLabel", "X", "", "", "K"),
    (0x0018937B, "MultienergyAcquisitionDescription", "X", "", "", ""),
    (0x0018937F, "DecompositionDescription", "X", "", "", ""),
    (0x00189424, "AcquisitionProtocolDescription", "X", "", "", ""),
    (0x00189516, "StartAcquisitionDateTime", "X/D", "K", "", ""),
    (0x00189517, "EndAcquisitionDateTime", "X/D", "K", "", ""),
    (0x00189623, "FunctionalSyncPulse", "D", "K", "", ""),
    (0x00189701, "DecayCorrectionDateTime", "D", "K", "", ""),
    (0x00189804, "ExclusionStartDateTime", "D", "K", "", ""),
    (0x00189919, "InstructionPerformedDateTime", "Z/D", "K", "", ""),
    (0x00189937, "RequestedSeriesDescription", "X", "", "", ""),
    (0x0018A002, "ContributionDateTime", "X", "K", "", ""),
    (0x0018A003, "ContributionDescription", "X", "", "", ""),
    (0x0020000D, "StudyInstanceUID", "U", "", "", ""),
    (0x0020000E, "SeriesInstanceUID", "U", "", "", ""),
    (0x00200010, "StudyID", "Z", "", "", ""),
    (0x00200027, "PyramidLabel", "X", "", "", ""),
    (0x00200052, "FrameOfReferenceUID", "U", "", "", ""),
    (0x00200200, "SynchronizationFrameOfReferenceUID", "U", "", "", ""),
    (0x00203401, "ModifyingDeviceID", "X", "", "", ""),
    (0x00203403, "ModifiedImageDate", "X", "K", "", ""),
    (0x00203405, "ModifiedImageTime", "X", "K", "", ""),
    (0x00203406, "ModifiedImageDescription", "X", "", "", ""),
    (0x00204000, "ImageComments", "X", "", "", ""),
    (0x00209158, "FrameComments", "X", "", "", ""),
    (0x00209161, "ConcatenationUID", "U", "", "", ""),
    (0x00209164, "DimensionOrganizationUID", "U", "", "", ""),
    (0x00281199, "PaletteColorLookupTableUID", "U", "", "", ""),
    (0x00281214, "LargePaletteColorLookupTableUID", "U", "", "", ""),
    (0x00284000, "ImagePresentationComments", "X", "", "", ""),
    (0x00320012, "StudyIDIssuer", "X", "", "", ""),
    (0x00320032, "StudyVerifiedDate", "X", "K", "", ""),
    (0x00320033, "StudyVerifiedTime", "X", "K", "", ""),
    (0x00320034, "StudyReadDate", "X", "K", "", ""),
    (0x00320035, "StudyReadTime", "X", "K", "", ""),
    (0x00321000, "ScheduledStudyStartDate", "X", "K", "", ""),
    (0x00321001, "ScheduledStudyStartTime", "X", "K", "", ""),
    (0x00321010, "ScheduledStudyStopDate", "X", "K", "", ""),
    (0x00321011, "ScheduledStudyStopTime", "X", "K", "", ""),
    (0x00321020, "ScheduledStudyLocation", "X", "", "", "K"),
    (0x00321021, "ScheduledStudyLocationAETitle", "X", "", "", "K"),
    (0x00321030, "ReasonForStudy", "X", "", "", ""),
    (0x00321032, "RequestingPhysician", "X", "", "", ""),
    (0x00321033, "RequestingService", "X", "", "", ""),
    (0x00321040, "StudyArrivalDate", "X", "K", "", ""),
    (0x00321041, "StudyArrivalTime", "X", "K", "", ""),
    (0x00321050, "StudyCompletionDate", "X", "K", "", ""),
    (0x00321051, "StudyCompletionTime", "X", "K", "", ""),
    (0x00321060, "RequestedProcedureDescription", "X/Z", "", "", ""),
    (0x00321066, "ReasonForVisit", "X", "", "", ""),
    (0x00321067, "ReasonForVisitCodeSequence", "X", "", "", ""),
    (0x00321070, "RequestedContrastAgent", "X", "", "", ""),
    (0x00324000, "StudyComments", "X", "", "", ""),
    (0x00340001, "FlowIdentifierSequence", "D", "", "", ""),
    (0x00340002, "FlowIdentifier", "D", "", "", ""),
    (0x00340005, "SourceIdentifier", "D", "", "", ""),
    (0x00340007, "FrameOriginTimestamp", "D", "K", "", ""),
    (0x00380004, "ReferencedPatientAliasSequence", "X", "", "", ""),
    (0x00380010, "AdmissionID", "X", "", "", ""),
    (0x00380011, "IssuerOfAdmissionID", "X", "", "", ""),
    (0x00380014, "IssuerOfAdmissionIDSequence", "X", "", "", ""),
    (0x0038001A, "ScheduledAdmissionDate", "X", "K", "", ""),
    (0x0038001B, "ScheduledAdmissionTime", "X", "K", "", ""),
    (0x0038001C, "ScheduledDischargeDate", "X", "K", "", ""),
    (0x0038001D, "ScheduledDischargeTime", "X", "K", "", ""),
    (0x0038001E, "ScheduledPatientInstitutionResidence", "X", "", "", ""),
    (0x00380020, "AdmittingDate", "X", "K", "", ""),
    (0x00380021, "AdmittingTime", "X", "K", "", ""),
    (0x00380030, "DischargeDate", "X", "K", "", ""),
    (0x00380032, "DischargeTime", "X", "K", "", ""),
    (0x00380040, "DischargeDiagnosisDescription", "X", "", "", ""),
    (0x00380050, "SpecialNeeds", "X", "", "C", ""),
    (0x00380060, "ServiceEpisodeID", "X", "", "", ""),
    (0x00380061, "IssuerOfServiceEpisodeID", "X", "", "", ""),
    (0x00380062, "ServiceEpisodeDescription", "X", "", "", ""),
    (0x00380064, "IssuerOfServiceEpisodeIDSequence", "X", "", "", ""),
    (0x00380300, "CurrentPatientLocation", "X", "", "", ""),
    (0x00380400, "PatientInstitutionResidence", "X", "", "", ""),
    (0x00380500, "PatientState", "X", "", "C", ""),
    (0x00384000, "VisitComments", "X", "", "", ""),
    (0x003A0310, "MultiplexGroupUID", "U", "", "", ""),
    (0x003A0314, "ImpedanceMeasurementDateTime", "D", "K", "", ""),
    (0x003A0329, "WaveformFilterDescription", "X", "", "", ""),
    (0x003A032B, "FilterLookupTableDescription", "X", "", "", ""),
    (0x00400001, "ScheduledStationAETitle", "X", "", "", "K"),
    (0x00400002, "ScheduledProcedureStepStartDate", "X", "K", "", ""),
    (0x00400003, "ScheduledProcedureStepStartTime", "X", "K", "", ""),
    (0x00400004, "ScheduledProcedureStepEndDate", "X", "K", "", ""),
    (0x00400005, "ScheduledProcedureStepEndTime", "X", "K", "", ""),
    (0x00400006, "ScheduledPerformingPhysicianName", "X", "", "", ""),
    (0x00400007, "ScheduledProcedureStepDescription", "X", "", "", ""),
    (0x00400009, "ScheduledProcedureStepID", "X", "", "", ""),
    (0x0040000B, "ScheduledPerformingPhysicianIdentificationSequence", "X", "", "", ""),
    (0x00400010, "ScheduledStationName", "X", "", "", "K"),
    (0x00400011, "ScheduledProcedureStepLocation", "X", "", "", "K"),
    (0x00400012, "PreMedication", "X", "", "C", ""),
    (0x00400241, "PerformedStationAETitle", "X", "", "", "K"),
    (0x00400242, "PerformedStationName", "X", "", "", "K"),
    (0x00400243, "PerformedLocation", "X", "", "", ""),
    (0x00400244, "PerformedProcedureStepStartDate", "X", "K", "", ""),
    (0x00400245, "PerformedProcedureStepStartTime", "X", "K", "", ""),
    (0x00400250, "PerformedProcedureStepEndDate", "X", "K", "", ""),
    (0x00400251, "PerformedProcedureStepEndTime", "X", "K", "", ""),
    (0x00400253, "PerformedProcedureStepID", "X", "", "", ""),
    (0x00400254, "PerformedProcedureStepDescription", "X", "", "", ""),
    (0x00400275, "RequestAttributesSequence", "X", "", "", ""),
    (0x00400280, "CommentsOnThePerformedProcedureStep", "X", "", "", ""),
    (0x00400310, "CommentsOnRadiationDose", "X", "", "", ""),
    (0x0040050A, "SpecimenAccessionNumber", "X", "", "", ""),
    (0x00400512, "ContainerIdentifier", "D", "", "", ""),
    (0x00400513, "IssuerOfTheContainerIdentifierSequence", "Z", "", "", ""),
    (0x0040051A, "ContainerDescription", "X", "", "", ""),
    (0x00400551, "SpecimenIdentifier", "D", "", "", ""),
    (0x00400554, "SpecimenUID", "U", "", "", ""),
    (0x00400555, "AcquisitionContextSequence", "X/Z", "", "", ""),
    (0x00400562, "IssuerOfTheSpecimenIdentifierSequence", "Z", "", "", ""),
    (0x00400600, "SpecimenShortDescription", "X", "", "", ""),
    (0x00400602, "SpecimenDetailedDescription", "X", "", "", ""),
    (0x00400610, "SpecimenPreparationSequence", "Z", "", "", ""),
    (0x004006FA, "SlideIdentifier", "X", "", "", ""),
    (0x00401001, "RequestedProcedureID", "X", "", "", ""),
    (0x00401002, "ReasonForTheRequestedProcedure", "X", "", "", ""),
    (0x00401004, "PatientTransportArrangements", "X", "", "", ""),
    (0x00401005, "RequestedProcedureLocation", "X", "", "", ""),
    (0x0040100A, "ReasonForRequestedProcedureCodeSequence", "X", "", "", ""),
    (0x00401010, "NamesOfIntendedRecipientsOfResults", "X", "", "", ""),
    (0x00401011, "IntendedRecipientsOfResultsIdentificationSequence", "X", "", "", ""),
    (0x00401101, "PersonIdentificationCodeSequence", "D", "", "", ""),
    (0x00401102, "PersonAddress", "X", "", "", ""),
    (0x00401103, "PersonTelephoneNumbers", "X", "", "", ""),
    (0x00401104, "PersonTelecomInformation", "X", "", "", ""),
    (0x00401400, "RequestedProcedureComments", "X", "", "", ""),
    (0x00402001, "ReasonForTheImagingServiceRequest", "X", "", "", ""),
    (0x00402004, "IssueDateOfImagingServiceRequest", "X", "K", "", ""),
    (0x00402005, "IssueTimeOfImagingServiceRequest", "X", "K", "", ""),
    (0x00402008, "OrderEnteredBy", "X", "", "", ""),
    (0x00402009, "OrderEntererLocation", "X", "", "", ""),
    (0x00402010, "OrderCallbackPhoneNumber", "X", "", "", ""),
    (0x00402011, "OrderCallbackTelecomInformation", "X", "", "", ""),
    (0x00402016, "PlacerOrderNumberImagingServiceRequest", "Z", "", "", ""),
    (0x00402017, "FillerOrderNumberImagingServiceRequest", "Z", "", "", ""),
    (0x00402400, "ImagingServiceRequestComments", "X", "", "", ""),
    (0x00403001, "ConfidentialityConstraintOnPatientDataDescription", "X", "", "", ""),
    (0x00404005, "ScheduledProcedureStepStartDateTime", "X", "K", "", ""),
    (0x00404008, "ScheduledProcedureStepExpirationDateTime", "X", "K", "", ""),
    (0x00404010, "ScheduledProcedureStepModificationDateTime", "X", "K", "", ""),
    (0x00404011, "ExpectedCompletionDateTime", "X", "K", "", ""),
    (0x00404023, "ReferencedGeneralPurposeScheduledProcedureStepTransactionUID", "U", "", "", ""),
    (0x00404025, "ScheduledStationNameCodeSequence", "X", "", "", "K"),
    (0x00404027, "ScheduledStationGeographicLocationCodeSequence", "X", "", "", "K"),
    (0x00404028, "PerformedStationNameCodeSequence", "X", "", "", "K"),
    (0x00404030, "PerformedStationGeographicLocationCodeSequence", "X", "", "", "K"),
    (0x00404034, "ScheduledHumanPerformersSequence", "X", "", "", ""),
    (0x00404035, "ActualHumanPerformersSequence", "X", "", "", ""),
    (0x00404036, "HumanPerformerOrganization", "X", "", "", ""),
    (0x00404037, "HumanPerformerName", "X", "", "", ""),
    (0x00404050, "PerformedProcedureStepStartDateTime", "X", "K", "", ""),
    (0x00404051, "PerformedProcedureStepEndDateTime", "X", "K", "", ""),
    (0x00404052, "ProcedureStepCancellationDateTime", "X", "K", "", ""),
    (0x0040A023, "FindingsGroupRecordingDateTrial", "X", "K", "", ""),
    (0x0040A024, "FindingsGroupRecordingTimeTrial", "X", "K", "", ""),
    (0x0040A027, "VerifyingOrganization", "D", "", "", ""),
    (0x0040A030, "VerificationDateTime", "D", "K", "", ""),
    (0x0040A032, "ObservationDateTime", "X/D", "K", "", ""),
    (0x0040A033, "ObservationStartDateTime", "X", "K", "", ""),
    (0x0040A073, "VerifyingObserverSequence", "D", "", "", ""),
    (0x0040A075, "VerifyingObserverName", "D", "", "", ""),
    (0x0040A078, "AuthorObserverSequence", "X", "", "", ""),
    (0x0040A07A, "ParticipantSequence", "X", "", "", ""),
    (0x0040A07C, "CustodialOrganizationSequence", "X", "", "", ""),
    (0x0040A082, "ParticipationDateTime", "Z", "K", "", ""),
    (0x0040A088, "VerifyingObserverIdentificationCodeSequence", "Z", "", "", ""),
    (0x0040A110, "DateOfDocumentOrVerbalTransactionTrial", "X", "K", "", ""),
    (0x0040A112, "TimeOfDocumentCreationOrVerbalTransactionTrial", "X", "K", "", ""),
    (0x0040A120, "DateTime", "D", "K", "", ""),
    (0x0040A121, "Date", "D", "K", "", ""),
    (0x0040A122, "Time", "D", "K", "", ""),
    (0x0040A123, "PersonName", "D", "", "", ""),
    (0x0040A124, "UID", "U", "", "", ""),
    (0x0040A13A, "ReferencedDateTime", "D", "K", "", ""),
    (0x0040A171, "ObservationUID", "U", "", "", ""),
    (0x0040A172, "ReferencedObservationUIDTrial", "U", "", "", ""),
    (0x0040A192, "ObservationDateTrial", "X", "K", "", ""),
    (0x0040A193, "ObservationTimeTrial", "X", "K", "", ""),
    (0x0040A307, "CurrentObserverTrial", "X", "", "", ""),
    (0x0040A352, "VerbalSourceTrial", "X", "", "", ""),
    (0x0040A353, "AddressTrial", "X", "", "", ""),
    (0x0040A354, "TelephoneNumberTrial", "X", "", "", ""),
    (0x0040A358, "VerbalSourceIdentifierCodeSequenceTrial", "X", "", "", ""),
    (0x0040A402, "ObservationSubjectUIDTrial", "U", "", "", ""),
    (0x0040A730, "ContentSequence", "D", "", "", ""),
    (0x0040DB06, "TemplateVersion", "X", "K", "", ""),
    (0x0040DB07, "TemplateLocalVersion", "X", "K", "", ""),
    (0x0040DB0C, "TemplateExtensionOrganizationUID", "U", "", "", ""),
    (0x0040DB0D, "TemplateExtensionCreatorUID", "U", "", "", ""),
    (0x0040E004, "HL7DocumentEffectiveTime", "X", "K", "", ""),
    (0x00420011, "EncapsulatedDocument", "D", "", "", ""),
    (0x00440004, "ApprovalStatusDateTime", "X", "K", "", ""),
    (0x0044000B, "ProductExpirationDateTime", "X", "K", "", ""),
    (0x00440010, "SubstanceAdministrationDateTime", "X", "K", "", ""),
    (0x00440104, "AssertionDateTime", "D", "K", "", ""),
    (0x00440105, "AssertionExpirationDateTime", "X", "K", "", ""),
    (0x0050001B, "ContainerComponentID", "X", "", "", ""),
    (0x00500020, "DeviceDescription", "X", "", "", "K"),
    (0x00500021, "LongDeviceDescription", "X", "", "", ""),
    (0x00620021, "TrackingUID", "U", "", "", ""),
    (0x00640003, "SourceFrameOfReferenceUID", "U", "", "", ""),
    (0x00686226, "EffectiveDateTime", "D", "K", "", ""),
    (0x00686270, "InformationIssueDateTime", "D", "K", "", ""),
    (0x006A0003, "AnnotationGroupUID", "D", "", "", ""),
    (0x006A0005, "AnnotationGroupLabel", "D", "", "", ""),
    (0x006A0006, "AnnotationGroupDescription", "X", "", "", ""),
    (0x00700001, "GraphicAnnotationSequence", "D", "", "", ""),
    (0x00700082, "PresentationCreationDate", "X", "K", "", ""),
    (0x00700083, "PresentationCreationTime", "X", "K", "", ""),
    (0x00700084, "ContentCreatorName", "Z/D", "", "", ""),
    (0x00700086, "ContentCreatorIdentificationCodeSequence", "X", "", "", ""),
    (0x0070031A, "FiducialUID", "U", "", "", ""),
    (0x00701101, "PresentationDisplayCollectionUID", "U", "", "", ""),
    (0x00701102, "PresentationSequenceCollectionUID", "U", "", "", ""),
    (0x0072000A, "HangingProtocolCreationDateTime", "D", "K", "", ""),
    (0x0072005E, "SelectorAEValue", "D", "", "", ""),
    (0x0072005F, "SelectorASValue", "D", "", "", ""),
    (0x00720061, "SelectorDAValue", "D", "K", "", ""),
    (0x00720063, "SelectorDTValue", "D", "K", "", ""),
    (0x00720065, "SelectorOBValue", "D", "", "", ""),
    (0x00720066, "SelectorLOValue", "D", "", "", ""),
    (0x00720068, "SelectorLTValue", "D", "", "", ""),
    (0x0072006A, "SelectorPNValue", "D", "", "", ""),
    (0x0072006B, "SelectorTMValue", "D", "K", "", ""),
    (0x0072006C, "SelectorSHValue", "D", "", "", ""),
    (0x0072006D, "SelectorUNValue", "D", "", "", ""),
    (0x0072006E, "SelectorSTValue", "D", "", "", ""),
    (0x00720070, "SelectorUTValue", "D", "", "", ""),
    (0x00720071, "SelectorURValue", "D", "", "", ""),
    (0x00741234, "ReceivingAE", "X", "", "", ""),
    (0x00741236, "RequestingAE", "X", "", "", ""),
    (0x00880140, "StorageMediaFileSetUID", "U", "", "", ""),
    (0x00880200, "IconImageSequence", "X", "", "", ""),
    (0x00880904, "TopicTitle", "X", "", "", ""),
    (0x00880906, "TopicSubject", "X", "", "", ""),
    (0x00880910, "TopicAuthor", "X", "", "", ""),
    (0x00880912, "TopicKeywords", "X", "", "", ""),
    (0x01000420, "SOPAuthorizationDateTime", "X", "K", "", ""),
    (0x04000100, "DigitalSignatureUID", "U", "", "", ""),
    (0x04000105, "DigitalSignatureDateTime", "D", "K", "", ""),
    (0x04000115, "CertificateOfSigner", "D", "", "", ""),
    (0x04000310, "CertifiedTimestamp", "X", "", "", ""),
    (0x04000402, "ReferencedDigitalSignatureSequence", "X", "", "", ""),
    (0x04000403, "ReferencedSOPInstanceMACSequence", "X", "", "", ""),
    (0x04000404, "MAC", "X", "", "", ""),
    (0x04000550, "ModifiedAttributesSequence", "X", "", "", ""),
    (0x04000551, "NonconformingModifiedAttributesSequence", "X", "", "", ""),
    (0x04000552, "NonconformingDataElementValue", "X", "", "", ""),
    (0x04000561, "OriginalAttributesSequence", "X", "", "", ""),
    (0x04000562, "AttributeModificationDateTime", "D", "K", "", ""),
    (0x04000563, "ModifyingSystem", "D", "", "", ""),
    (0x04000564, "SourceOfPreviousValues", "Z", "", "", ""),
    (0x04000565, "ReasonForTheAttributeModification", "D", "", "", ""),
    (0x04000600, "InstanceOriginStatus", "X", "", "", ""),
    (0x20300020, "TextString", "X", "", "", ""),
    (0x21000040, "CreationDate", "X", "K", "", ""),
    (0x21000050, "CreationTime", "X", "K", "", ""),
    (0x21000070, "Originator", "X", "", "", ""),
    (0x21000140, "DestinationAE", "D", "", "", ""),
    (0x22000002, "LabelText", "X/Z", "", "", ""),
    (0x22000005, "BarcodeValue", "X/Z", "", "", ""),
    (0x30020121, "PositionAcquisitionTemplateName", "X", "", "", ""),
    (0x30020123, "PositionAcquisitionTemplateDescription", "X", "", "", ""),
    (0x30060002, "StructureSetLabel", "D", "", "", ""),
    (0x30060004, "StructureSetName", "X", "", "", ""),
    (0x30060006, "StructureSetDescription", "X", "", "", ""),
    (0x30060008, "StructureSetDate", "Z", "K", "", ""),
    (0x30060009, "StructureSetTime", "Z", "K", "", ""),
    (0x30060024, "ReferencedFrameOfReferenceUID", "U", "", "", ""),
    (0x30060026, "ROIName", "Z", "", "", ""),
    (0x30060028, "ROIDescription", "X", "", "", ""),
    (0x30060038, "ROIGenerationDescription", "X", "", "", ""),
    (0x30060085, "ROIObservationLabel", "X", "", "", ""),
    (0x30060088, "ROIObservationDescription", "X", "", "", ""),
    (0x300600A6, "ROIInterpreter", "Z", "", "", ""),
    (0x300600C2, "RelatedFrameOfReferenceUID", "U", "", "", ""),
    (0x30080024, "TreatmentControlPointDate", "D", "K", "", ""),
    (0x30080025, "TreatmentControlPointTime", "D", "K", "", ""),
    (0x30080054, "FirstTreatmentDate", "X/D", "K", "", ""),
    (0x30080056, "MostRecentTreatmentDate", "X/D", "K", "", ""),
    (0x30080105, "SourceSerialNumber", "X/Z", "", "", "K"),
    (0x30080162, "SafePositionExitDate", "D", "K", "", ""),
    (0x30080164, "SafePositionExitTime", "D", "K", "", ""),
    (0x30080166, "SafePositionReturnDate", "D", "K", "", ""),
    (0x30080168, "SafePositionReturnTime", "D", "K", "", ""),
    (0x30080250, "TreatmentDate", "X/D", "K", "", ""),
    (0x30080251, "TreatmentTime", "X/D", "K", "", ""),
    (0x300A0002, "RTPlanLabel", "D", "", "", ""),
    (0x300A0003, "RTPlanName", "X", "", "", ""),
    (0x300A0004, "RTPlanDescription", "X", "", "", ""),
    (0x300A0006, "RTPlanDate", "X/D", "K", "", ""),
    (0x300A0007, "RTPlanTime", "X/D", "K", "", ""),
    (0x300A000B, "TreatmentSites", "X", "", "", ""),
    (0x300A000E, "PrescriptionDescription", "X", "", "", ""),
    (0x300A0013, "DoseReferenceUID", "U", "", "", ""),
    (0x300A0016, "DoseReferenceDescription", "X", "", "", ""),
    (0x300A0072, "FractionGroupDescription", "X", "", "", ""),
    (0x300A0083, "ReferencedDoseReferenceUID", "U", "", "", ""),
    (0x300A00B2, "TreatmentMachineName", "X/Z", "", "", "K"),
    (0x300A00C3, "BeamDescription", "X", "", "", ""),
    (0x300A00DD, "BolusDescription", "X", "", "", ""),
    (0x300A0196, "FixationDeviceDescription", "X", "", "", ""),
    (0x300A01A6, "ShieldingDeviceDescription", "X", "", "", ""),
    (0x300A01B2, "SetupTechniqueDescription", "X", "", "", ""),
    (0x300A0216, "SourceManufacturer", "X", "", "", "K"),
    (0x300A022C, "SourceStrengthReferenceDate", "D", "K", "", ""),
    (0x300A022E, "SourceStrengthReferenceTime", "D", "K", "", ""),
    (0x300A02EB, "CompensatorDescription", "X", "", "", ""),
    (0x300A0608, "TreatmentPositionGroupLabel", "D", "", "", ""),
    (0x300A0609, "TreatmentPositionGroupUID", "U", "", "", ""),
    (0x300A0611, "RTAccessoryHolderSlotID", "Z", "", "", ""),
    (0x300A0615, "RTAccessoryDeviceSlotID", "Z", "", "", ""),
    (0x300A0619, "RadiationDoseIdentificationLabel", "D", "", "", ""),
    (0x300A0623, "RadiationDoseInVivoMeasurementLabel", "D", "", "", ""),
    (0x300A062A, "RTToleranceSetLabel", "D", "", "", ""),
    (0x300A0650, "PatientSetupUID", "U", "", "", ""),
    (0x300A0676, "EquipmentFrameOfReferenceDescription", "X", "", "", ""),
    (0x300A067C, "RadiationGenerationModeLabel", "D", "", "", ""),
    (0x300A067D, "RadiationGenerationModeDescription", "Z", "", "", ""),
    (0x300A0700, "TreatmentSessionUID", "U", "", "", ""),
    (0x300A0734, "TreatmentToleranceViolationDescription", "D", "", "", ""),
    (0x300A0736, "TreatmentToleranceViolationDateTime", "D", "K", "", ""),
    (0x300A073A, "RecordedRTControlPointDateTime", "D", "K", "", ""),
    (0x300A0741, "InterlockDateTime", "D", "K", "", ""),
    (0x300A0742, "InterlockDescription", "D", "", "", ""),
    (0x300A0760, "OverrideDateTime", "D", "K", "", ""),
    (0x300A0783, "InterlockOriginDescription", "D", "", "", ""),
    (0x300A0785, "ReferencedTreatmentPositionGroupUID", "U", "", "", ""),
    (0x300A078E, "PatientTreatmentPreparationProcedureParameterDescription", "X", "", "", ""),
    (0x300A0792, "PatientTreatmentPreparationMethodDescription", "X", "", "", ""),
    (0x300A0794, "PatientSetupPhotoDescription", "X", "", "", ""),
    (0x300A079A, "DisplacementReferenceLabel", "X", "", "", ""),
    (0x300C0113, "ReasonForOmissionDescription", "X", "", "", ""),
    (0x300C0127, "BeamHoldTransitionDateTime", "D", "K", "", ""),
    (0x300E0004, "ReviewDate", "Z", "K", "", ""),
    (0x300E0005, "ReviewTime", "Z", "K", "", ""),
    (0x300E0008, "ReviewerName", "X/Z", "", "", ""),
    (0x30100006, "ConceptualVolumeUID", "U", "", "", ""),
    (0x3010000B, "ReferencedConceptualVolumeUID", "U", "", "", ""),
    (0x3010000F, "ConceptualVolumeCombinationDescription", "Z", "", "", ""),
    (0x30100013, "ConstituentConceptualVolumeUID", "U", "", "", ""),
    (0x30100015, "SourceConceptualVolumeUID", "U", "", "", ""),
    (0x30100017, "ConceptualVolumeDescription", "Z", "", "", ""),
    (0x3010001B, "DeviceAlternateIdentifier", "Z", "", "", ""),
    (0x3010002D, "DeviceLabel", "D", "", "", "K"),
    (0x30100031, "ReferencedFiducialsUID", "U", "", "", ""),
    (0x30100033, "UserContentLabel", "D", "", "", ""),
    (0x30100034, "UserContentLongLabel", "D", "", "", ""),
    (0x30100035, "EntityLabel", "D", "", "", ""),
    (0x30100036, "EntityName", "X", "", "", ""),
    (0x30100037, "EntityDescription", "X", "", "", ""),
    (0x30100038, "EntityLongLabel", "D", "", "", ""),
    (0x3010003B, "RTTreatmentPhaseUID", "U", "", "", ""),
    (0x30100043, "ManufacturerDeviceIdentifier", "Z", "", "", "K"),
    (0x3010004C, "IntendedPhaseStartDate", "X/D", "K", "", ""),
    (0x3010004D, "IntendedPhaseEndDate", "X/D", "K", "", ""),
    (0x30100054, "RTPrescriptionLabel", "D", "", "", ""),
    (0x30100056, "RTTreatmentApproachLabel", "X/D", "", "", ""),
    (0x3010005A, "RTPhysicianIntentNarrative", "Z", "", "", ""),
    (0x3010005C, "ReasonForSuperseding", "Z", "", "", ""),
    (0x30100061, "PriorTreatmentDoseDescription", "X", "", "", ""),
    (0x3010006E, "DosimetricObjectiveUID", "U", "", "", ""),
    (0x3010006F, "ReferencedDosimetricObjectiveUID", "U", "", "", ""),
    (0x30100077, "TreatmentSite", "X/D", "", "", ""),
    (0x3010007A, "TreatmentTechniqueNotes", "Z", "", "", ""),
    (0x3010007B, "PrescriptionNotes", "Z", "", "", ""),
    (0x3010007F, "FractionationNotes", "Z", "", "", ""),
    (0x30100081, "PrescriptionNotesSequence", "Z", "", "", ""),
    (0x30100085, "IntendedFractionStartTime", "X", "K", "", ""),
    (0x40000010, "Arbitrary", "X", "", "", ""),
    (0x40004000, "TextComments", "X", "", "", ""),
    (0x40080040, "ResultsID", "X", "", "", ""),
    (0x40080042, "ResultsIDIssuer", "X", "", "", ""),
    (0x40080100, "InterpretationRecordedDate", "X", "K", "", ""),
    (0x40080101, "InterpretationRecordedTime", "X", "K", "", ""),
    (0x40080102, "InterpretationRecorder", "X", "", "", ""),
    (0x40080108, "InterpretationTranscriptionDate", "X", "K", "", ""),
    (0x40080109, "InterpretationTranscriptionTime", "X", "K", "", ""),
    (0x4008010A, "InterpretationTranscriber", "X", "", "", ""),
    (0x4008010B, "InterpretationText", "X", "", "", ""),
    (0x4008010C, "InterpretationAuthor", "X", "", "", ""),
    (0x40080111, "InterpretationApproverSequence", "X", "", "", ""),
    (0x40080112, "InterpretationApprovalDate", "X", "K", "", ""),
    (0x40080113, "InterpretationApprovalTime", "X", "K", "", ""),
    (0x40080114, "PhysicianApprovingInterpretation", "X", "", "", ""),
    (0x40080115, "InterpretationDiagnosisDescription", "X", "", "", ""),
    (0x40080118, "ResultsDistributionListSequence", "X", "", "", ""),
    (0x40080119, "DistributionName", "X", "", "", ""),
    (0x4008011A, "DistributionAddress", "X", "", "", ""),
    (0x40080200, "InterpretationID", "X", "", "", ""),
    (0x40080202, "InterpretationIDIssuer", "X", "", "", ""),
    (0x40080300, "Impressions", "X", "", "", ""),
    (0x40084000, "ResultsComments", "X", "", "", ""),
    (0xFFFAFFFA, "DigitalSignaturesSequence", "X", "", "", ""),
    (0xFFFCFFFC, "DataSetTrailingPadding", "X", "", "", ""),
))
