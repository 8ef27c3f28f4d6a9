#include "rules/detectors/detector_scanner.h"

#include <hs/hs.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "rules/detectors/detector_validators.h"

namespace xborder::rules::detectors {
namespace {

// Candidates are validated within kTailBytes of their end whatever the segmentation:
// the retained tail always covers that much, so a whole-buffer scan and a chunked scan
// of the same bytes give the same result (tests/rules_detectors/detector_scanner_fuzz).
constexpr size_t kMaxCandidate = kTailBytes;
// An ICD-10 code starting this close after a counted medical field key is its value.
constexpr uint64_t kFieldValueGap = 32;

bool isAlnum(char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

// Drops the boundary characters the patterns consume on either side.
std::string_view stripBoundaries(std::string_view s) {
  while (!s.empty() && !isAlnum(s.front())) s.remove_prefix(1);
  while (!s.empty() && !isAlnum(s.back())) s.remove_suffix(1);
  return s;
}

uint32_t utcToday() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  return static_cast<uint32_t>((tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday);
}

}  // namespace

struct Scanner::MatchCtx {
  Scanner* self;
  FlowScanState* st;
  const uint8_t* data;  // current segment
  size_t len;
  uint64_t base;  // stream offset of data[0]
};

uint32_t FlowScanResult::totalHits() const {
  uint32_t n = 0;
  for (auto h : hits) n += h;
  return n;
}

void FlowScanState::clearCounters() {
  offset_ = 0;
  tailLen_ = 0;
  finished_ = false;
  faceFlags_ = 0;
  pendingCount_ = 0;
  lastFieldKey_ = 0;
  lastContext_.fill(0);
  lastConfirmed_.fill(0);
  result_ = FlowScanResult{};
}

FlowScanState::~FlowScanState() {
  if (stream_) hs_close_stream(stream_, nullptr, nullptr, nullptr);
}

FlowScanState::FlowScanState(FlowScanState&& o) noexcept { *this = std::move(o); }

FlowScanState& FlowScanState::operator=(FlowScanState&& o) noexcept {
  if (this == &o) return *this;
  if (stream_) hs_close_stream(stream_, nullptr, nullptr, nullptr);
  stream_ = o.stream_;
  offset_ = o.offset_;
  tailLen_ = o.tailLen_;
  finished_ = o.finished_;
  faceFlags_ = o.faceFlags_;
  pendingCount_ = o.pendingCount_;
  lastFieldKey_ = o.lastFieldKey_;
  tail_ = o.tail_;
  lastContext_ = o.lastContext_;
  lastConfirmed_ = o.lastConfirmed_;
  pending_ = o.pending_;
  result_ = o.result_;
  o.stream_ = nullptr;
  o.clearCounters();
  return *this;
}

absl::StatusOr<std::unique_ptr<Scanner>> Scanner::create(std::shared_ptr<const DetectorSet> set,
                                                         std::span<const uint8_t> hmacKey,
                                                         uint32_t todayYyyymmdd) {
  if (!set) return absl::InvalidArgumentError("null detector set");
  if (hmacKey.size() < 16) return absl::InvalidArgumentError("HMAC key must be at least 16 bytes");
  std::unique_ptr<Scanner> s(new Scanner(hmacKey));
  s->set_ = std::move(set);
  s->today_ = todayYyyymmdd ? todayYyyymmdd : utcToday();
  if (hs_alloc_scratch(s->set_->database(), &s->scratch_) != HS_SUCCESS) {
    return absl::ResourceExhaustedError("hs_alloc_scratch failed");
  }
  return s;
}

Scanner::~Scanner() {
  if (scratch_) hs_free_scratch(scratch_);
}

bool Scanner::open(FlowScanState& st) const {
  if (st.stream_) {
    reset(st);
    return true;
  }
  st.clearCounters();
  return hs_open_stream(set_->database(), 0, &st.stream_) == HS_SUCCESS;
}

void Scanner::reset(FlowScanState& st) const {
  if (st.stream_) hs_reset_stream(st.stream_, 0, nullptr, nullptr, nullptr);
  st.clearCounters();
}

void Scanner::release(FlowScanState& st) const {
  if (st.stream_) hs_close_stream(st.stream_, nullptr, nullptr, nullptr);
  st.stream_ = nullptr;
}

bool Scanner::scan(FlowScanState& st, const uint8_t* data, size_t len) {
  if (!st.stream_ || st.finished_) return false;
  bool ok = true;
  // hs_scan_stream takes an unsigned int length; split absurdly large inputs.
  while (len > 0) {
    size_t n = std::min<size_t>(len, 1u << 30);
    MatchCtx m{this, &st, data, n, st.offset_};
    if (hs_scan_stream(st.stream_, reinterpret_cast<const char*>(data), static_cast<unsigned>(n), 0,
                       scratch_, &Scanner::onMatch, &m) != HS_SUCCESS) {
      ++st.result_.scanErrors;
      ok = false;
    }
    st.offset_ += n;
    st.result_.bytes += n;
    if (n >= kTailBytes) {
      std::memcpy(st.tail_.data(), data + n - kTailBytes, kTailBytes);
      st.tailLen_ = kTailBytes;
    } else {
      size_t keep = std::min<size_t>(st.tailLen_, kTailBytes - n);
      std::memmove(st.tail_.data(), st.tail_.data() + st.tailLen_ - keep, keep);
      std::memcpy(st.tail_.data() + keep, data, n);
      st.tailLen_ = static_cast<uint32_t>(keep + n);
    }
    data += n;
    len -= n;
  }
  expirePending(st, st.offset_ + 1, false);  // later matches end past offset_
  return ok;
}

void Scanner::finish(FlowScanState& st) {
  if (!st.stream_ || st.finished_) return;
  MatchCtx m{this, &st, nullptr, 0, st.offset_};
  // Reports the matches that need end-of-data (\z) and leaves the stream reusable.
  if (hs_reset_stream(st.stream_, 0, scratch_, &Scanner::onMatch, &m) != HS_SUCCESS) {
    ++st.result_.scanErrors;
  }
  st.finished_ = true;
  expirePending(st, st.offset_ + 1, true);
}

int Scanner::onMatch(unsigned id, unsigned long long from, unsigned long long to, unsigned, void* ctx) {
  auto* m = static_cast<MatchCtx*>(ctx);
  m->self->handle(*m, id, from, to);
  return 0;
}

void Scanner::handle(MatchCtx& m, unsigned id, uint64_t from, uint64_t to) {
  FlowScanState& st = *m.st;
  const PatternMeta& meta = set_->meta(id);
  switch (meta.role) {
    case PatternRole::kCandidate:
      handleCandidate(m, meta, from, to);
      break;
    case PatternRole::kSignature:
      commit(st, meta.detector, to, false, 0, false);
      break;
    case PatternRole::kFieldKey:
      st.lastFieldKey_ = to;
      commit(st, meta.detector, to, false, 0, true);
      break;
    case PatternRole::kContext:
      onContext(st, meta.detector, to);
      break;
    case PatternRole::kMarking:
      if (to <= kMarkingWindow) commit(st, meta.detector, to, false, 0, true);
      break;
    case PatternRole::kDictionary:
      ++st.result_.dictionaryHits[meta.dictionary];
      break;
    case PatternRole::kMediaType:
    case PatternRole::kCameraPath:
      st.faceFlags_ |= meta.role == PatternRole::kMediaType ? 1 : 2;
      if ((st.faceFlags_ & 7) == 3) {
        st.faceFlags_ |= 4;  // once per flow-direction
        commit(st, meta.detector, to, false, 0, false);
      }
      break;
  }
}

void Scanner::handleCandidate(MatchCtx& m, const PatternMeta& meta, uint64_t from, uint64_t to) {
  FlowScanState& st = *m.st;
  FlowScanResult& r = st.result_;
  const size_t di = static_cast<size_t>(meta.detector);
  const uint64_t tailStart = m.base - st.tailLen_;
  if (meta.form == CandidateForm::kEmail) {
    // Non-SOM pattern: take the retained window, the scanner finds the start below.
    from = std::max(tailStart, to > kMaxCandidate ? to - kMaxCandidate : 0);
  }
  if (from < tailStart || to < from || to - from > kMaxCandidate) {
    ++r.unvalidated;
    return;
  }
  char buf[kMaxCandidate];
  const size_t n = static_cast<size_t>(to - from);
  for (uint64_t o = from; o < to; ++o) {
    buf[o - from] = static_cast<char>(o >= m.base ? m.data[o - m.base] : st.tail_[o - tailStart]);
  }
  std::string_view raw(buf, n);
  std::string_view s = stripBoundaries(raw);
  char norm[kMaxCandidate];
  size_t nn = 0;
  bool valid = false;
  using F = CandidateForm;
  switch (meta.form) {
    case F::kResidentId:
      valid = validResidentId(s, today_);
      break;
    case F::kResidentId15:
      valid = validResidentId15(s, norm);
      if (valid) nn = 18;
      break;
    case F::kMobile: {
      nn = normalizeDigits(s, norm, 15);
      std::string_view d(norm, std::min(nn, size_t{15}));
      if (nn == 13 && d.substr(0, 2) == "86") d.remove_prefix(2);
      if (nn == 15 && d.substr(0, 4) == "0086") d.remove_prefix(4);
      valid = validMobile(d);
      if (valid) {
        std::memmove(norm, d.data(), d.size());
        nn = d.size();
      }
      break;
    }
    case F::kBankCard:
      nn = normalizeDigits(s, norm, 19);
      valid = nn <= 19 && validBankCard(std::string_view(norm, nn));
      break;
    case F::kPassport:
      valid = validPassportNumber(s);
      break;
    case F::kMrz: {
      valid = validMrzLine2(s);
      if (valid) {
        std::string_view number = s.substr(0, 9);
        while (!number.empty() && number.back() == '<') number.remove_suffix(1);
        valid = s.substr(10, 3) == "CHN" || validPassportNumber(number);
        s = number;
      }
      break;
    }
    case F::kPermit:
      valid = validHkMacauPermit(s);
      break;
    case F::kUscc:
      // An 18-digit string that is a valid resident ID is read as one: about 1 in 300
      // resident IDs also passes the USCC checks (seen in the accuracy corpus).
      valid = validUscc(s) && !validResidentId(s, today_);
      break;
    case F::kVin:
      valid = validVin(s);
      break;
    case F::kPlateUtf8:
    case F::kPlateGbk: {
      // Province character (its table index), the ASCII run, then an optional
      // 挂学警港澳 character: normalized so UTF-8 and GBK spellings hash alike.
      const auto& chars = set_->plateChars(meta.form == F::kPlateGbk);
      std::string_view rest = raw;
      for (size_t i = 0; i < 31 && !valid; ++i) {
        if (rest.substr(0, chars[i].size()) == chars[i]) {
          norm[nn++] = static_cast<char>(i);
          rest.remove_prefix(chars[i].size());
          valid = true;
        }
      }
      size_t run = 0;
      while (valid && run < rest.size() && isAlnum(rest[run])) norm[nn++] = rest[run++];
      rest.remove_prefix(run);
      if (valid && run == 5) {
        valid = false;
        for (size_t i = 31; i < chars.size() && !valid; ++i) {
          if (rest.substr(0, chars[i].size()) == chars[i]) {
            norm[nn++] = static_cast<char>(0x80 + i);
            valid = true;
          }
        }
      } else {
        valid = valid && (run == 6 || run == 7);
      }
      break;
    }
    case F::kGpsLatLon:
      valid = validGps(raw, GpsForm::kLatLon);
      break;
    case F::kGpsLonLat:
      valid = validGps(raw, GpsForm::kLonLat);
      break;
    case F::kGpsNmea:
      valid = validGps(raw, GpsForm::kNmea);
      break;
    case F::kEmail: {
      // Walk back from '@' over local-part characters; the local part must start at a
      // boundary inside the window (else the address is longer than we keep).
      // The walk runs over the raw window, not the stripped one: stripping would hide
      // local-part characters ('-', '.') at the window start and make a too-long
      // address look like a short one in a chunked scan but not in a whole one.
      size_t at = s.rfind('@');
      valid = at != std::string_view::npos;
      if (valid) {
        const size_t lead = static_cast<size_t>(s.data() - raw.data());
        const size_t end = lead + s.size();
        size_t b = lead + at;
        auto localChar = [](char c) { return isAlnum(c) || std::string_view("._%+-").find(c) != std::string_view::npos; };
        while (b > 0 && localChar(raw[b - 1])) --b;
        if (b == 0 && from > 0) {  // the local part may start before the window
          ++r.unvalidated;
          return;
        }
        s = stripBoundaries(raw.substr(b, end - b));
        valid = validEmail(s);
      }
      if (valid) {
        for (char c : s) norm[nn++] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
      }
      break;
    }
    case F::kIcd10:
      valid = validIcd10(s);
      break;
    case F::kNone:
      break;
  }
  if (!valid) {
    ++r.rejected[di];
    return;
  }
  const DetectorInfo& info = detectorInfo(meta.detector);
  uint64_t hash = 0;
  if (info.keyed) {
    if (nn == 0) {
      // Forms whose stripped candidate is already canonical (upper-case ASCII).
      nn = std::min(s.size(), sizeof(norm));
      for (size_t i = 0; i < nn; ++i) norm[i] = (s[i] == 'x') ? 'X' : s[i];
    }
    hash = keyedHash(static_cast<uint8_t>(di), norm, nn);
  }
  const DetectorConfig& cfg = set_->config(meta.detector);
  const uint64_t start = to - n;
  if (meta.form == F::kIcd10 && st.lastFieldKey_ != 0 && start <= st.lastFieldKey_ + kFieldValueGap) {
    st.lastFieldKey_ = 0;  // only the first code after the key is its value
    return;                // the value of a medical field key already counted
  }
  const bool keyword = st.lastContext_[di] != 0 && st.lastContext_[di] + cfg.proximityBytes >= start;
  const bool chained = st.lastConfirmed_[di] != 0 && st.lastConfirmed_[di] + cfg.proximityBytes >= start;
  if (keyword) {
    commit(st, meta.detector, to, info.keyed, hash, true);
  } else if ((!cfg.requireContext && meta.form != F::kResidentId15) || chained) {
    // A gated detector also passes when it continues a run of confirmed hits (a CSV
    // column under a "phone" header keeps its context row after row).
    commit(st, meta.detector, to, info.keyed, hash, false);
  } else {
    // Free the slots of hits that can no longer be confirmed before queueing, so the
    // queue holds the same hits whether the stream came in one segment or many
    // (expiry at segment ends alone made the result depend on segmentation).
    if (st.pendingCount_ == kMaxPending) expirePending(st, to, false);
    if (st.pendingCount_ < kMaxPending) {
      st.pending_[st.pendingCount_++] = {to, hash, meta.detector, info.keyed};
    } else {
      ++r.noContext[di];
    }
  }
}

void Scanner::onContext(FlowScanState& st, DetectorId d, uint64_t end) {
  const size_t di = static_cast<size_t>(d);
  st.lastContext_[di] = end;
  const uint32_t prox = set_->config(d).proximityBytes;
  size_t w = 0;
  for (size_t i = 0; i < st.pendingCount_; ++i) {
    const auto& p = st.pending_[i];
    if (p.detector == d && end <= p.end + prox) {
      commit(st, d, p.end, p.keyed, p.hash, true);
    } else {
      st.pending_[w++] = p;
    }
  }
  st.pendingCount_ = static_cast<uint8_t>(w);
}

void Scanner::expirePending(FlowScanState& st, uint64_t now, bool all) {
  size_t w = 0;
  for (size_t i = 0; i < st.pendingCount_; ++i) {
    const auto& p = st.pending_[i];
    if (all || p.end + set_->config(p.detector).proximityBytes < now) {
      ++st.result_.noContext[static_cast<size_t>(p.detector)];
    } else {
      st.pending_[w++] = p;
    }
  }
  st.pendingCount_ = static_cast<uint8_t>(w);
}

void Scanner::commit(FlowScanState& st, DetectorId d, uint64_t end, bool keyed, uint64_t hash, bool high) {
  FlowScanResult& r = st.result_;
  const size_t di = static_cast<size_t>(d);
  ++r.hits[di];
  if (high) ++r.highConfidence[di];
  const PiClass cls = detectorInfo(d).piClass;
  ++r.classHits[static_cast<size_t>(cls)];
  if (isSensitive(cls)) {
    ++r.sensitiveHits;
  } else if (cls == PiClass::kIdentifier) {
    ++r.nonSensitiveHits;
  }
  st.lastConfirmed_[di] = std::max(st.lastConfirmed_[di], end);
  if (!keyed) return;
  for (uint32_t i = 0; i < r.keyHashCount; ++i) {
    if (r.keyHashes[i].hash == hash && r.keyHashes[i].detector == d) return;
  }
  if (r.keyHashCount < kMaxKeyHashes) {
    r.keyHashes[r.keyHashCount++] = {hash, d};
  } else {
    ++r.keyHashesDropped;
  }
}

uint64_t Scanner::keyedHash(uint8_t tag, const char* bytes, size_t len) const noexcept {
  const KeyedHmac::Digest out =
      hmac_.mac({&tag, 1}, {reinterpret_cast<const uint8_t*>(bytes), len});
  uint64_t h = 0;
  for (int i = 0; i < 8; ++i) h = (h << 8) | out[i];
  return h;
}

}  // namespace xborder::rules::detectors
