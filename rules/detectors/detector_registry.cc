#include "rules/detectors/detector_registry.h"

namespace xborder::rules::detectors {
namespace {

using D = DetectorId;
using P = PiClass;

constexpr std::array<DetectorInfo, kDetectorCount> kRegistry = {{
    {D::kCnResidentId, "cn_resident_id", P::kIdentifier, true, false, 300},
    {D::kCnMobile, "cn_mobile", P::kIdentifier, true, true, 300},
    {D::kBankCard, "bank_card", P::kFinancialAccount, true, true, 300},
    {D::kCnPassport, "cn_passport", P::kIdentifier, true, false, 300},
    {D::kHkMacauPermit, "hk_macau_permit", P::kIdentifier, true, true, 100},
    {D::kUscc, "uscc", P::kNone, true, false, 300},
    {D::kVin, "vin", P::kIdentifier, true, true, 300},
    {D::kCnPlate, "cn_plate", P::kIdentifier, true, false, 300},
    {D::kGpsCoordinate, "gps_coordinate", P::kPreciseLocation, false, false, 300},
    {D::kEmail, "email", P::kIdentifier, true, false, 300},
    {D::kMedicalRecordFields, "medical_record_fields", P::kHealthMedical, false, true, 200},
    {D::kGenomicSequence, "genomic_sequence", P::kBiometric, false, false, 0},
    {D::kFaceImageOrTemplate, "face_image_or_template", P::kBiometric, false, false, 0},
    {D::kClassifiedMarking, "classified_marking", P::kNone, false, false, 0},
}};

constexpr std::array<std::string_view, kDetectorCount> kNames = {
    "cn_resident_id", "cn_mobile",      "bank_card",      "cn_passport",
    "hk_macau_permit", "uscc",          "vin",            "cn_plate",
    "gps_coordinate", "email",          "medical_record_fields", "genomic_sequence",
    "face_image_or_template", "classified_marking",
};

constexpr std::array<std::string_view, kPiClassCount> kClassNames = {
    "none",           "identifier", "financial_account", "precise_location", "trajectory",
    "health_medical", "biometric",  "minor_under_14",    "specific_identity", "religious_belief",
};

constexpr std::string_view kKwResidentId[] = {"身份证", "证件号", "id_no", "idcard", "citizen_id"};
constexpr std::string_view kKwMobile[] = {"手机", "电话", "mobile", "phone", "tel"};
constexpr std::string_view kKwBankCard[] = {"卡号", "银行卡", "card_no", "pan", "account"};
constexpr std::string_view kKwPassport[] = {"护照", "passport"};
constexpr std::string_view kKwVin[] = {"vin", "车架号", "车辆识别代号", "车辆识别码", "vehicle", "chassis",
                                      "frame_no"};
constexpr std::string_view kKwPermit[] = {"通行证", "港澳", "回乡证", "permit"};
constexpr std::string_view kKwMedical[] = {"诊断", "病历", "检验结果", "diagnosis", "icd10",
                                           "icd-10", "icd", "主诉", "病史"};
constexpr std::string_view kKwClassified[] = {"绝密★", "机密★", "秘密★", "国家秘密"};

}  // namespace

std::span<const DetectorInfo> detectorRegistry() { return kRegistry; }
std::span<const std::string_view> detectorNames() { return kNames; }

std::optional<DetectorId> detectorByName(std::string_view name) {
  for (const auto& d : kRegistry) {
    if (d.name == name) return d.id;
  }
  return std::nullopt;
}

const DetectorInfo& detectorInfo(DetectorId id) { return kRegistry[static_cast<size_t>(id)]; }

std::string_view piClassName(PiClass c) { return kClassNames[static_cast<size_t>(c)]; }

std::optional<PiClass> piClassByName(std::string_view name) {
  for (size_t i = 0; i < kClassNames.size(); ++i) {
    if (kClassNames[i] == name) return static_cast<PiClass>(i);
  }
  return std::nullopt;
}

bool isSensitive(PiClass c) {
  switch (c) {
    case P::kFinancialAccount:
    case P::kPreciseLocation:
    case P::kTrajectory:
    case P::kHealthMedical:
    case P::kBiometric:
    case P::kMinorUnder14:
    case P::kSpecificIdentity:
    case P::kReligiousBelief:
      return true;
    case P::kNone:
    case P::kIdentifier:
      return false;
  }
  return false;
}

std::span<const std::string_view> defaultContextKeywords(DetectorId id) {
  switch (id) {
    case D::kCnResidentId: return kKwResidentId;
    case D::kCnMobile: return kKwMobile;
    case D::kBankCard: return kKwBankCard;
    case D::kCnPassport: return kKwPassport;
    case D::kHkMacauPermit: return kKwPermit;
    case D::kVin: return kKwVin;
    case D::kMedicalRecordFields: return kKwMedical;
    case D::kClassifiedMarking: return kKwClassified;
    default: return {};
  }
}

}  // namespace xborder::rules::detectors
