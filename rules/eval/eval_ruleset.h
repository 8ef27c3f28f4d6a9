#pragma once
// Evaluates one flow against a compiled ruleset: who sent it (tenant), where it goes
// (destination, country), what it carries (detector and dictionary record counts) and
// how many individuals the tenant has exported this year -> a decision, the entry and
// filing that decided it, and the counter increments the caller should apply.
//
// evaluate() is the per-flow call (the dataplane at a decision point, the dry run per
// captured flow): no allocation, no locks, no exceptions, no syscalls. The one-line
// reason is rendered later by describe(), off the hot path.

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "absl/status/statusor.h"
#include "rules/geo/geo_ip.h"
#include "rules/geo/geo_prefix_table.h"
#include "rules/proto/ruleset.pb.h"

namespace xborder::rules::eval {

enum class Action : uint8_t { kAllow = 0, kLog = 1, kAlert = 2, kHold = 3, kBlock = 4 };
std::string_view actionName(Action a);

enum class Direction : uint8_t {
  kOutbound,     // a domestic party sends (upload, push)
  kInboundPull,  // a party abroad opened the session and pulls domestic data
};

struct FlowFacts {
  Direction direction = Direction::kOutbound;
  int32_t tenant = -1;          // tenant index when already attributed; -1 = attribute from source
  geo::IpAddress domesticIp;    // the party in the zone (responder for inbound pulls)
  uint16_t vlan = 0;            // 0 = untagged
  geo::IpAddress foreignIp;     // the party abroad
  std::string_view foreignName; // TLS SNI or HTTP Host, may be empty
  std::string_view application; // nDPI protocol name, reported only
  std::string_view contentType;  // may carry parameters ("text/csv; charset=gbk")
  std::string_view path;         // HTTP path, for endpoint hints
  // Records in the flow with at least one hit, per ruleset detector / dictionary index.
  // Shorter spans mean zero for the missing indexes.
  std::span<const uint32_t> detectorRecords;
  std::span<const uint32_t> dictionaryRecords;
  bool geofenceHit = false;      // a coordinate fell in the entry's geofence set
  uint32_t records = 0;          // records in the flow (CSV row, JSON object, JSONL line)
  // Individuals seen in this flow and not yet counted for this tenant this year (the
  // caller de-duplicates with the keyed hash); sensitive = any sensitive item about them.
  uint32_t newIndividualsSensitive = 0;
  uint32_t newIndividualsNonSensitive = 0;
  int64_t timeUnix = 0;          // the moment that decides (capture time, --as-of, wall clock)
};

struct CounterKey {
  enum class Kind : uint8_t { kEntry, kBaselineNonSensitive, kBaselineSensitive, kFiling };
  Kind kind = Kind::kEntry;
  uint32_t legalEntity = 0;  // counters are per USCC, never per tenant record or line
  uint32_t index = 0;        // entry or filing index; 0 for baseline counters
  int32_t year = 0;          // calendar year in the list's time zone
  bool operator==(const CounterKey&) const = default;
};

// The tenant's cumulative distinct-individual counts for the year, before this flow.
class CounterSource {
 public:
  virtual ~CounterSource() = default;
  virtual uint64_t count(const CounterKey& key) const = 0;
};

struct CounterUpdate {
  CounterKey key;
  uint64_t add = 0;
};

enum class Basis : uint8_t {
  kNotExport,        // inbound pull and the list does not count pulls as export
  kUnknownTenant,    // source not attributed to a registered tenant
  kNoEntry,          // no entry matched
  kEntry,            // an entry matched (see entry / filing)
  kBaselineCiioPi,   // national baseline, reported as BASELINE-CIIO-PI, etc.
  kBaselineCiioImportant,
  kBaselineImportant,
  kBaselineNonSensitive,
  kBaselineSensitive,
};

enum class Miss : uint8_t {
  kNone,             // no filing of this tenant names the entry
  kSuspended,        // status is not active
  kNotYetValid,
  kExpired,
  kDestination,      // the flow's destination is not one the filing names
  kNoExportGrant,    // grants_export: false (a prerequisite only)
  kPrerequisite,     // a prerequisite filing is missing
  kCap,              // this flow would exceed the filing's cap
  kSensitive,        // sensitive PI but the filing's caps exclude it
  kWrongType,        // the filing's type is not accepted for the mechanism
};

struct Decision {
  Action action = Action::kAllow;
  Basis basis = Basis::kNoEntry;
  int32_t tenant = -1;
  int32_t legalEntity = -1;
  int32_t destination = -1;
  bool destinationByName = false;  // matched only by SNI/Host (forgeable)
  std::array<char, 3> country = {'?', '?', 0};
  int32_t year = 0;
  int32_t entry = -1;        // the entry reported (after falls_to)
  int32_t matchedEntry = -1; // the entry whose conditions matched (differs when it fell)
  int32_t filing = -1;       // the filing that covered the deciding entry
  int32_t mechanism = -1;    // index into ruleset.mechanisms
  uint64_t count = 0;        // the count judged (after this flow)
  uint64_t tierMin = 0, tierMax = 0;  // the tier the count falls in (max 0 = open)
  Miss miss = Miss::kNone;   // why no filing covered the deciding entry
  int32_t missFiling = -1;
  bool hintMatched = false;  // an endpoint hint matched (confidence only)
  uint16_t matchedEntries = 0;
  uint8_t updateCount = 0;
  bool updatesTruncated = false;  // more counters matched than kMaxUpdates (the caller must alert)
  static constexpr size_t kMaxUpdates = 32;
  std::array<CounterUpdate, kMaxUpdates> updates{};
  std::span<const CounterUpdate> counterUpdates() const { return {updates.data(), updateCount}; }
};

class Evaluator {
 public:
  static absl::StatusOr<std::unique_ptr<Evaluator>> create(pb::Ruleset ruleset);
  static absl::StatusOr<std::unique_ptr<Evaluator>> fromBytes(std::string_view bytes);

  Decision evaluate(const FlowFacts& flow, const CounterSource& counters) const;
  // One line a person can read: decision, entry, filing, count and why.
  std::string describe(const Decision& d) const;

  const pb::Ruleset& ruleset() const { return rs_; }
  // Control-path lookups by name; -1 when unknown.
  int32_t detectorIndex(std::string_view name) const;
  int32_t dictionaryIndex(std::string_view name) const;
  int32_t entryIndex(std::string_view id) const;
  int32_t tenantIndex(std::string_view id) const;
  int32_t filingIndex(std::string_view id) const;
  int32_t destinationIndex(std::string_view id) const;
  std::string entryName(int32_t i) const;  // entry id or BASELINE-* for baseline decisions
  std::string reportedEntry(const Decision& d) const;
  // Local calendar year of a moment, in the list's time zone.
  int32_t yearOf(int64_t unix) const;

 private:
  explicit Evaluator(pb::Ruleset rs) : rs_(std::move(rs)) {}
  absl::Status build();

  struct EntryRt {
    uint64_t allOf = 0, anyOf = 0;  // detector bit masks
    std::vector<uint32_t> dictionaries;
    bool geofence = false;
    uint32_t minRecords = 0, maxRecords = 0;
    std::vector<std::string> contentTypes;
    std::vector<std::string> serverNames;  // lower case; empty = any
    bool counted = false;
    pb::Sensitivity sensitivity = pb::SENSITIVITY_MIXED;
    struct Tier {
      uint64_t min, max;
      int32_t mechanism;
    };
    std::vector<Tier> tiers;
    int32_t mechanism = -1;
    int32_t fallsTo = -1;
    std::vector<std::array<char, 2>> countries;  // empty = any
    bool catchAll = false;
    bool bindsEveryone = false;    // prohibited or core data: binds ineligible tenants too
    bool important = false;
    bool requiresDeclaration = false;
    std::vector<std::string> requiresTypes, prerequisiteTypes, exceptionTypes;
    std::vector<std::string> hints;
  };
  struct FilingRt {
    uint32_t legalEntity;
    int64_t from, to;
    bool active, grantsExport;
    uint64_t cap;
    bool capSensitive;
    std::vector<uint32_t> destinations;
    std::vector<uint32_t> entries;
  };

  bool entryMatches(const EntryRt& e, const FlowFacts& f, uint64_t detMask, const char* country) const;
  bool typeCovers(const std::string& type, const pb::Filing& pf, int32_t mechanism, const EntryRt& e) const;
  // Finds a filing that covers (tenant, destination, entry) now; returns index or -1 with *miss.
  int32_t findFiling(const EntryRt& e, uint32_t entryIdx, int32_t mechanism, uint32_t legalEntity,
                     int32_t destination, bool destByName, int64_t now, uint64_t increment, bool sensitive,
                     int32_t year, const CounterSource& counters, const std::vector<std::string>* onlyTypes,
                     Miss* miss, int32_t* missFiling) const;
  bool filingDestinationOk(const FilingRt& f, int32_t destination, bool destByName) const;
  int32_t tierMechanism(const std::vector<EntryRt::Tier>& tiers, uint64_t count, uint64_t* tmin, uint64_t* tmax) const;
  int32_t lookupDomain(std::string_view name) const;

  pb::Ruleset rs_;
  std::vector<EntryRt> entries_;
  std::vector<FilingRt> filings_;
  std::vector<std::vector<uint32_t>> filingsByEntity_;
  std::vector<Action> mechAction_;
  std::vector<uint32_t> mechPrecedence_;
  std::vector<std::vector<std::string>> mechAccepted_;
  std::vector<EntryRt::Tier> baseNonSensitive_, baseSensitive_;
  int32_t baseCiioPi_ = -1, baseCiioImportant_ = -1, baseImportant_ = -1;
  uint64_t piDetectorMask_ = 0, sensitiveDetectorMask_ = 0;
  std::vector<std::vector<uint16_t>> tenantVlans_;
  std::vector<uint32_t> tenantEntity_;
  std::vector<bool> tenantEligible_, tenantCiio_;
  geo::PrefixTable tenantTable_, destTable_, geoTable_;
  std::vector<std::array<char, 2>> geoCountries_;
  // Destination domains in an open-addressing table keyed by a 64-bit hash of the
  // lower-case name; a lookup walks the flow name's label suffixes, one probe each.
  struct DomainSlot {
    uint64_t hash = 0;
    uint32_t destination = UINT32_MAX;  // UINT32_MAX = empty
    uint32_t name = 0;                  // index into domainNames_
  };
  std::vector<DomainSlot> domainSlots_;
  std::vector<std::array<char, 2>> destCountry_;
  std::vector<bool> destHasCidrs_;
  std::vector<std::string_view> domainNames_;  // views into rs_
  uint64_t domainMask_ = 0;
  void addDomain(std::string_view name, uint32_t destination);
  std::vector<uint32_t> order_;
};

// A simple counter store for tests and the dry run: counts per key, in memory.
class InMemoryCounters : public CounterSource {
 public:
  uint64_t count(const CounterKey& key) const override;
  void set(const CounterKey& key, uint64_t value);
  void apply(std::span<const CounterUpdate> updates);

 private:
  struct Hash {
    size_t operator()(const CounterKey& k) const {
      return (static_cast<size_t>(k.kind) * 1000003u) ^ (static_cast<size_t>(k.legalEntity) * 7919u) ^
             (static_cast<size_t>(k.index) << 20) ^ static_cast<size_t>(k.year);
    }
  };
  std::unordered_map<CounterKey, uint64_t, Hash> counts_;
};

}  // namespace xborder::rules::eval
