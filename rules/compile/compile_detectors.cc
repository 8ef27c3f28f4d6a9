#include "rules/compile/compile_detectors.h"

namespace xborder::rules::compile {

detectors::DetectorSetSpec detectorSpecOf(const pb::Ruleset& rs) {
  detectors::DetectorSetSpec spec;
  for (const auto& d : rs.detectors()) {
    detectors::DetectorSpec s;
    s.name = d.name();
    for (const auto& k : d.context_keywords()) s.contextKeywords.push_back(k.utf8());
    s.proximityChars = d.proximity_chars();
    spec.detectors.push_back(std::move(s));
  }
  for (const auto& d : rs.dictionaries()) {
    detectors::DictionarySpec s;
    s.name = d.name();
    for (const auto& k : d.keywords()) s.keywords.push_back(k.utf8());
    s.includeGbk = true;
    spec.dictionaries.push_back(std::move(s));
  }
  return spec;
}

}  // namespace xborder::rules::compile
