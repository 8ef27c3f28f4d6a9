#pragma once
// The bridge from a ruleset to the detectors library (rules/detectors): the exact
// DetectorSetSpec a ruleset describes. The compiler builds the Hyperscan database from
// it and embeds the bytes; the dataplane rebuilds the same spec from the ruleset it
// loaded and calls DetectorSet::deserialize(spec, ruleset.hyperscan_db()).

#include "rules/detectors/detector_set.h"
#include "rules/proto/ruleset.pb.h"

namespace xborder::rules::compile {

detectors::DetectorSetSpec detectorSpecOf(const pb::Ruleset& ruleset);

}  // namespace xborder::rules::compile
