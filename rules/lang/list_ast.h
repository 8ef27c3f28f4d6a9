#pragma once
// The negative list as loaded from YAML: plain structs that keep the 1-based source
// position of everything a later check may need to point at.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "rules/geo/geo_country_table.h"
#include "rules/geo/geo_ip.h"

namespace xborder::rules::lang {

struct Pos {
  int line = 0;  // 1-based; 0 = unknown
  int col = 0;
};

struct Diagnostic {
  std::string file;
  Pos pos;
  std::string message;
  std::string format() const;  // "file:line:col: message"
};

struct Text {
  std::string en;
  std::string zh;
};

// A name that refers to something defined elsewhere in the list.
struct Ref {
  std::string name;
  Pos pos;
};

struct CidrRef {
  geo::Cidr cidr;
  Pos pos;
};

struct Tier {
  uint64_t min = 0;
  std::optional<uint64_t> max;  // nullopt = no upper bound
  Ref mechanism;
  Pos pos;
};

struct Mechanism {
  std::string name;
  std::string zh;
  std::string defaultAction;  // allow, log, alert, hold, block
  std::vector<std::string> filingTypesAccepted;
  Pos pos;
};

struct Detector {
  std::string name;
  std::string zh;
  std::string validator;
  std::string piClass;
  std::vector<std::string> contextKeywords;
  uint32_t proximityChars = 0;
  Pos pos;
};

struct Dictionary {
  std::string name;
  std::vector<std::string> keywords;
  Pos pos;
};

struct Tenant {
  std::string id;
  std::string uscc;
  std::string name;
  std::vector<CidrRef> cidrs;
  std::vector<uint32_t> vlans;
  bool registeredInZone = true;
  bool ciio = false;
  Pos pos;
  Pos usccPos;
};

struct Destination {
  std::string id;
  std::string recipient;
  std::string country;
  std::vector<CidrRef> cidrs;
  std::vector<Ref> fqdns;
  Pos pos;
  Pos countryPos;
};

struct Match {
  std::vector<Ref> allOf;
  std::vector<Ref> anyOf;
  std::vector<Ref> dictionaries;
  std::string geofenceSet;
  std::vector<Ref> contentTypes;
  std::vector<std::string> endpointHints;
  // TLS SNI / HTTP Host names (lower case, no trailing dot); a name matches itself and
  // every sub-domain, on label boundaries. May be an entry's only condition.
  std::vector<Ref> serverNames;
  std::optional<uint32_t> minRecordsPerFlow;
  std::optional<uint32_t> maxRecordsPerFlow;
  bool present = false;
  // Where an empty list was written, so "can never match" can point at it.
  std::vector<std::pair<std::string, Pos>> emptyLists;
  Pos pos;
  Pos maxPos;
};

struct Entry {
  std::string id;
  Text sector, scenario, category;
  std::string dataNature;  // personal_information, important_data, core_data
  Pos dataNaturePos;
  Match match;
  std::string unit;  // any, individuals_per_year, subjects_per_year
  Pos unitPos;
  std::string sensitivity;  // sensitive, non_sensitive, mixed, "" (= mixed)
  std::vector<Tier> tiers;
  Pos tiersPos;
  std::optional<Ref> mechanism;
  std::optional<Ref> fallsTo;
  bool anyCountry = true;
  std::vector<Ref> countries;
  Pos countriesPos;
  bool recipientMustMatchFiling = false;
  std::vector<Ref> exceptionFilingTypes;
  std::vector<Ref> requiresFilingTypes;
  std::vector<Ref> prerequisiteFilingTypes;
  std::string evidenceLevel;
  uint32_t retainDays = 0;
  Pos pos;
  Pos idPos;
};

struct Date {
  int year = 0, month = 0, day = 0;
  int64_t daysSinceEpoch() const;
  std::string toString() const;
};

struct Filing {
  std::string id;
  std::string type;
  Pos typePos;
  std::vector<std::string> linkedRecordTypes;
  std::string uscc;
  Pos usccPos;
  std::vector<Ref> entries;
  std::vector<Ref> destinations;
  std::optional<Date> validFrom;
  std::optional<Date> expires;
  Pos validFromPos, expiresPos;
  std::string status;
  Pos statusPos;
  bool grantsExport = true;
  std::optional<uint64_t> capIndividualsPerYear;
  bool capSensitiveAllowed = true;
  std::string reference;
  Pos pos;
  Pos idPos;
};

struct Baseline {
  std::vector<Tier> nonSensitive;
  Pos nonSensitivePos;
  std::vector<Tier> sensitive;
  Pos sensitivePos;
  Ref ciioPersonalInformation;
  Ref ciioImportantData;
  Ref nonCiioImportantData;
  bool present = false;
};

struct Policy {
  std::vector<Ref> precedence;
  Pos precedencePos;
  std::vector<Ref> catchAllEntries;
  std::string noMatchAction = "log";
  std::string coveredAction = "log";
  std::string unknownTenantAction = "hold";
  Pos actionsPos;
  bool inboundPullsCountAsExport = true;
  std::string timezone = "Asia/Shanghai";
  int tzOffsetMinutes = 480;
  bool eligibilityRequiresRegistration = true;
  bool eligibilityExcludesCiio = true;
  std::vector<double> alertRatios;  // counting_rules.alert_ratios (ascending, in (0, 1])
  std::vector<Ref> sensitiveClasses;
  std::vector<Ref> keyPriority;
  std::vector<Ref> nonSensitiveIdentifiers;
};

struct NegativeList {
  std::string file;  // as given to the loader, used in diagnostics
  std::string schemaVersion;
  std::string listId;
  std::string version;
  std::optional<Date> effectiveDate;
  Pos effectiveDatePos;
  std::string issuer;
  Policy policy;
  std::vector<Mechanism> mechanisms;
  Baseline baseline;
  std::vector<Detector> detectors;
  std::vector<Dictionary> dictionaries;
  std::vector<Tenant> tenants;
  std::vector<Destination> destinations;
  std::vector<Entry> entries;
  std::vector<Filing> filings;
  std::string geoTablePath;  // resolved path, empty = none
  Pos geoTablePos;
  std::vector<geo::CountryPrefix> geo;
};

}  // namespace xborder::rules::lang
