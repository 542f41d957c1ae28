// data/tweet_scanner.cc: the token classes of NLTK's TweetTokenizer, one matcher each.
//
// Every matcher answers one question: "if the regex engine tried this class at `pos`, where would
// the token end?" and returns that end, or kNone. The regex is case-insensitive, so "[a-z]" also
// means A-Z (and the three non-ASCII letters that fold to ASCII ones: İ, ſ, K-sign). \w, \d and \s
// are Unicode's, as Python's `regex` module defines them (data/tokenizer_unicode.h).
//
// The classes, in the order they are tried (the first that matches wins):
//
//  1. Url. Two forms.
//     a. A prefix, then a body. The prefix is "http:" or "https:" followed by 1-3 slashes (or by
//        one letter, digit or '%'), or a domain followed by '/': characters from [a-z0-9.-] whose
//        last '.' is followed by 2-13 letters. The body is one or more pieces, each a run of
//        non-space characters other than ()<>{}[] or a parenthesised group, and it must END with
//        a parenthesised group or a character that is not punctuation such as !.,;:'"?«»“”‘’.
//        So "http://t.co/abc!" stops before the '!'. Which end wins when parentheses nest is
//        decided by backtracking order; url_body() computes it with a right-to-left table.
//     b. A naked domain: alphanumeric segments joined by single '.' or '-', the last joined by
//        '.' and made of 2-13 letters, then a word boundary and an optional '/'. It may not
//        follow '@' or be followed by '@' (so the domain of an email is not a URL).
//  2. Phone: an optional international part (+? then 0 or 1), an optional area code ((? then 3
//     digits), then 3 digits and 4 digits, with runs of " *-.)" between the parts. No boundary
//     is required after it, so a long digit string yields a phone-shaped prefix.
//  3. Emoticon: [<>]? eyes [:;=8] nose? [-o*'] mouth [)](\[dDpP/:}{@|\\], the same mirrored
//     (mouth nose? eyes [<>]?), or a heart "<3" / "</3". "8D" in "8Days" is an emoticon.
//  4. HtmlTag: '<', non-space characters other than '>', '>'.
//  5. Arrow: dashes then '>', or '<' then dashes.
//  6. Handle: '@' and a run of word characters.
//  7. Hashtag: '#'s, then word characters, apostrophes and dashes that start and end with a word
//     character (at least two of them).
//  8. Email: [\w.+-]+ '@' [\w-]+ '.' then word characters with single dots inside (2+ chars).
//  9. EmojiSequence: any character (not '\n') followed by a skin-tone modifier, or followed by
//     one or more "ZWJ + any character (+ skin tone)" links. The first character may even be a
//     space: " 🏻" is one token in NLTK, and so it is here.
// 10. Flag: two regional indicator symbols, or the England / Scotland / Wales tag sequences.
// 11. Compound: a letter, then letters, apostrophes ('), dashes and underscores, ending with a
//     letter (3+ characters). "Letter" means a word character that is not a digit or '_', so
//     "abc1" gives "abc" then "1", while "ab1" (too short for this class) is one Word.
// 12. Number: [+-]? digits, one of ",/.:-", digits, [+-]?.
// 13. Word: a run of word characters.
// 14. Ellipsis: '.' then one or more '.', each possibly after whitespace (". . ." is one token).
// 15. Other: any single non-space character.
#include "data/tweet_scanner.h"

#include "data/tokenizer_unicode.h"

#include <cstdint>
#include <vector>

namespace loom::data {
namespace {

using unicode::is_digit;
using unicode::is_space;
using unicode::is_word;

constexpr std::size_t kNone = 0;     // "no match": every real match ends after its first character
constexpr char32_t kEnd = 0x110000;  // what at() returns past the end: no class contains it
constexpr char32_t kZwj = 0x200D;

bool is_skin_tone(char32_t c) { return c >= 0x1F3FB && c <= 0x1F3FF; }
bool is_regional_indicator(char32_t c) { return c >= 0x1F1E6 && c <= 0x1F1FF; }
// A set of ASCII characters as a 128-bit mask: membership is one shift, which matters because the
// scanner asks such questions several times per character.
struct AsciiSet {
  std::uint64_t bits[2] = {0, 0};
  constexpr explicit AsciiSet(const char* chars) {
    for (; *chars; ++chars) {
      const auto c = static_cast<unsigned char>(*chars);
      bits[c >> 6] |= std::uint64_t{1} << (c & 63);
    }
  }
  constexpr bool has(char32_t c) const { return c < 128 && ((bits[c >> 6] >> (c & 63)) & 1) != 0; }
};
constexpr AsciiSet kEyes(":;=8"), kNoses("-o*'O"), kMouths(")](/[dDpP:}{@|\\");
constexpr AsciiSet kBrackets("()<>{}[]"), kUrlStops("`!()[]{};:'\".,<>?");
constexpr AsciiSet kPhoneSeparators(" *-.)"), kEmailLocal(".+-"), kCompoundInner("'-_"), kNumberSeparators(",/.:-");

// What case-insensitive matching compares ASCII letters with: the three non-ASCII letters whose
// case folding is an ASCII letter count as that letter.
char32_t fold_ascii(char32_t c) {
  if (c >= 'A' && c <= 'Z') return c + 32;
  if (c == 0x130) return 'i';
  if (c == 0x17F) return 's';
  if (c == 0x212A) return 'k';
  return c;
}
bool is_az(char32_t c) {
  const char32_t f = fold_ascii(c);
  return f >= 'a' && f <= 'z';
}
bool is_az09(char32_t c) { return is_az(c) || (c >= '0' && c <= '9'); }
// [^\W\d_]: a word character that is not a digit or the underscore.
bool is_letter(char32_t c) { return c != '_' && is_word(c) && !is_digit(c); }
// The regex '.': anything but a newline.
bool is_any(char32_t c) { return c != kEnd && c != '\n'; }

class Scanner {
 public:
  explicit Scanner(std::u32string_view text) : t_(text), n_(text.size()) {}

  void scan(std::vector<TweetSpan>& out) {
    std::size_t pos = 0;
    while (pos < n_) {
      TweetTokenClass kind = TweetTokenClass::Other;
      const std::size_t end = match_at(pos, kind);
      if (end == kNone) {
        ++pos;  // only whitespace gets here
        continue;
      }
      out.push_back({pos, end, kind});
      pos = end;
    }
  }

 private:
  char32_t at(std::size_t i) const { return i < n_ ? t_[i] : kEnd; }

  std::size_t match_at(std::size_t pos, TweetTokenClass& kind) {
    using K = TweetTokenClass;
    std::size_t end = kNone;
    const auto found = [&](std::size_t e, K k) {
      if (e == kNone) return false;
      end = e;
      kind = k;
      return true;
    };
    if (is_space(t_[pos])) {
      found(emoji_sequence(pos), K::EmojiSequence);  // the only class that can start with a space
      return end;
    }
    found(url_with_prefix(pos), K::Url) || found(naked_domain(pos), K::Url) || found(phone(pos), K::Phone) ||
        found(emoticon(pos), K::Emoticon) || found(html_tag(pos), K::HtmlTag) || found(arrow(pos), K::Arrow) ||
        found(handle(pos), K::Handle) || found(hashtag(pos), K::Hashtag) || found(email(pos), K::Email) ||
        found(emoji_sequence(pos), K::EmojiSequence) || found(flag(pos), K::Flag) ||
        found(compound(pos), K::Compound) || found(number(pos), K::Number) || found(word(pos), K::Word) ||
        found(ellipsis(pos), K::Ellipsis) || found(pos + 1, K::Other);
    return end;
  }

  // ---- 1a. URL with a prefix -------------------------------------------------------------------
  std::size_t url_with_prefix(std::size_t pos) {
    // "http:" / "https:", then 3, 2 or 1 slashes (greedy, so most first), else one [a-z0-9%].
    if (fold_ascii(at(pos)) == 'h' && fold_ascii(at(pos + 1)) == 't' && fold_ascii(at(pos + 2)) == 't' &&
        fold_ascii(at(pos + 3)) == 'p') {
      std::size_t q = pos + 4;
      if (fold_ascii(at(q)) == 's') ++q;
      if (at(q) == ':') {
        ++q;
        std::size_t slashes = 0;
        while (slashes < 3 && at(q + slashes) == '/') ++slashes;
        for (std::size_t k = slashes; k >= 1; --k) {
          if (const std::size_t e = url_body(q + k)) return e;
        }
        if (is_az09(at(q)) || at(q) == '%') {
          if (const std::size_t e = url_body(q + 1)) return e;
        }
      }
    }
    // A domain and '/': only the run's last '.' can be followed by letters up to the '/'.
    if (!domain_run_.covers(pos)) {
      std::size_t r = pos, last_dot = kNone;
      while (is_az09(at(r)) || at(r) == '.' || at(r) == '-') {
        if (at(r) == '.') last_dot = r;
        ++r;
      }
      domain_run_ = {pos, r, last_dot};
    }
    const std::size_t r = domain_run_.end, last_dot = domain_run_.value;
    if (at(r) != '/' || last_dot == kNone || last_dot <= pos) return kNone;
    const std::size_t letters = r - last_dot - 1;
    if (letters < 2 || letters > 13) return kNone;
    for (std::size_t i = last_dot + 1; i < r; ++i) {
      if (!is_az(t_[i])) return kNone;
    }
    return url_body(r + 1);
  }

  // The body after a URL prefix that ends at q0. Nothing in a body may be whitespace, so the
  // search stays inside [q0, span_end). The regex is
  //     (?: RUN | P1 | P2 )+ (?: P1 | P2 | LAST )
  // RUN = non-space chars other than ()<>{}[]; P1 = "(a(b)c)" one level deep; P2 = '(' non-space
  // chars (lazily, so the nearest ')' first) ')'; LAST = one non-space char that is not one of
  // `!()[]{};:'".,<>?«»“”‘’.
  // after[x] answers: the body has consumed up to x (at least one piece); where does the first
  // match in backtracking order end? The engine tries another piece before stopping, longer
  // runs before shorter, P1 before P2, and only then the final piece at x. Every choice moves
  // right, so the table fills from right to left. Inside a RUN it has a closed form: stop after
  // the run if anything succeeds from there, else end after the run's last LAST-character.
  std::size_t url_body(std::size_t q0) {
    std::size_t span_end = q0;
    while (span_end < n_ && !is_space(t_[span_end])) ++span_end;
    if (q0 >= span_end) return kNone;
    const std::size_t len = span_end - q0 + 1;
    origin_ = q0;
    after_.assign(len, kNone);
    run_end_.assign(len, kNone);
    last_end_.assign(len, kNone);
    next_close_.assign(len, kNone);
    good_close_.assign(len, kNone);
    const auto A = [&](std::size_t x) -> std::size_t& { return after_[x - q0]; };
    const auto RE = [&](std::size_t x) -> std::size_t& { return run_end_[x - q0]; };
    const auto LE = [&](std::size_t x) -> std::size_t& { return last_end_[x - q0]; };
    for (std::size_t x = span_end; x-- > q0;) {
      const char32_t c = t_[x];
      if (is_run_char(c)) {
        RE(x) = (x + 1 < span_end && is_run_char(t_[x + 1])) ? RE(x + 1) : x + 1;
        LE(x) = (x + 1 < RE(x) && LE(x + 1) != kNone) ? LE(x + 1) : (is_last_char(c) ? x + 1 : kNone);
        A(x) = A(RE(x)) != kNone ? A(RE(x)) : LE(x);
      } else if (c == '(') {
        A(x) = after_paren(x, span_end, /*may_stop_here=*/true);
      }  // any other bracket: no piece starts there and none may end the URL there
      const bool close = c == ')';
      next_close_[x - q0] = close ? x : (x + 1 < span_end ? next_close_[x + 1 - q0] : kNone);
      good_close_[x - q0] = (close && A(x + 1) != kNone) ? x : (x + 1 < span_end ? good_close_[x + 1 - q0] : kNone);
    }
    // The first piece is not optional, so unlike after[q0] the body cannot end with q0's char.
    const char32_t c = t_[q0];
    if (is_run_char(c)) {
      const std::size_t r = RE(q0);
      if (A(r) != kNone) return A(r);
      return q0 + 1 < r ? LE(q0 + 1) : kNone;
    }
    if (c == '(') return after_paren(q0, span_end, /*may_stop_here=*/false);
    return kNone;
  }

  // At a '(' inside a URL body: P1 then more, P2 (nearest ')' first) then more, then (if the
  // body already has a piece) P1 or P2 as the final piece. The P2 choices come from two tables
  // filled right to left beside after[], so that a long run of parentheses stays linear.
  std::size_t after_paren(std::size_t x, std::size_t span_end, bool may_stop_here) {
    const auto at_or_none = [&](const std::vector<std::size_t>& v, std::size_t y) {
      return y < span_end ? v[y - origin_] : kNone;
    };
    const std::size_t p1 = nested_parens(x, span_end);
    if (p1 != kNone && after_[p1 - origin_] != kNone) return after_[p1 - origin_];
    // The nearest ')' at or after x+2 from which the body goes on to a match.
    const std::size_t good = at_or_none(good_close_, x + 2);
    if (good != kNone) return after_[good + 1 - origin_];
    if (!may_stop_here) return kNone;
    if (p1 != kNone) return p1;
    const std::size_t close = at_or_none(next_close_, x + 2);
    return close != kNone ? close + 1 : kNone;
  }

  // P1: '(' a '(' b ')' c ')' with a, b, c free of whitespace and parentheses, b non-empty.
  std::size_t nested_parens(std::size_t x, std::size_t span_end) const {
    const auto skip = [&](std::size_t i) {
      while (i < span_end && t_[i] != '(' && t_[i] != ')') ++i;
      return i;
    };
    std::size_t i = skip(x + 1);
    if (i >= span_end || t_[i] != '(') return kNone;
    const std::size_t b = i + 1;
    i = skip(b);
    if (i == b || i >= span_end || t_[i] != ')') return kNone;
    i = skip(i + 1);
    if (i >= span_end || t_[i] != ')') return kNone;
    return i + 1;
  }

  static bool is_run_char(char32_t c) { return !is_space(c) && !kBrackets.has(c); }
  static bool is_last_char(char32_t c) {
    return !is_space(c) && !kUrlStops.has(c) && c != 0xAB && c != 0xBB &&  // « »
           c != 0x201C && c != 0x201D && c != 0x2018 && c != 0x2019;       // “ ” ‘ ’
  }

  // ---- 1b. Naked domain ------------------------------------------------------------------------
  // The segments of a chain like "news.bbc.co.uk" are all whole (a shorter one could not be
  // followed by a separator), and the regex prefers more segments before the final ".tld", so
  // try the last '.'-joined segment first and walk left.
  // The answer for a later start inside the same chain is the same segment, as long as it still
  // lies after the start (chain_ remembers it: see RunMemo).
  std::size_t naked_domain(std::size_t pos) {
    if (pos > 0 && t_[pos - 1] == '@') return kNone;
    if (!is_az09(at(pos))) return kNone;
    if (!chain_.covers(pos)) {
      const std::size_t e = chain_end(pos);
      const auto [b, end] = last_tld(pos, e);
      chain_ = {pos, e, b, end};
    }
    return chain_.value != kNone && chain_.value > pos ? chain_.value2 : kNone;
  }
  std::size_t chain_end(std::size_t pos) const {
    std::size_t e = pos;
    while (true) {
      while (is_az09(at(e))) ++e;
      if ((at(e) == '.' || at(e) == '-') && is_az09(at(e + 1))) {
        ++e;
        continue;
      }
      break;
    }
    return e;
  }
  // {start of the rightmost segment that can end the domain, where the match then ends}.
  std::pair<std::size_t, std::size_t> last_tld(std::size_t pos, std::size_t e) const {
    while (true) {  // [b, e) is one segment
      std::size_t b = e;
      while (b > pos && is_az09(t_[b - 1])) --b;
      if (b == pos) return {kNone, kNone};  // the first segment cannot be the TLD
      if (t_[b - 1] == '.' && is_tld(b, e)) {
        if (at(e) == '/') return {b, at(e + 1) == '@' ? e : e + 1};  // "/?" gives the '/' back before '@'
        if (at(e) != '@') return {b, e};
      }
      e = b - 1;
    }
  }
  // 2-13 letters followed by a word boundary.
  bool is_tld(std::size_t b, std::size_t e) const {
    if (e - b < 2 || e - b > 13 || is_word(at(e))) return false;
    for (std::size_t i = b; i < e; ++i) {
      if (!is_az(t_[i])) return false;
    }
    return true;
  }

  // ---- 2. Phone --------------------------------------------------------------------------------
  // The optional parts are tried present-first: (intl, area), (intl), (area), ().
  std::size_t phone(std::size_t pos) const {
    const char32_t c = at(pos);
    if (c != '+' && c != '(' && !is_digit(c)) return kNone;
    for (const bool intl : {true, false}) {
      for (const bool area : {true, false}) {
        if (const std::size_t e = phone_shape(pos, intl, area)) return e;
      }
    }
    return kNone;
  }
  // Separator runs are always taken whole: giving one back leaves a separator where a digit or
  // '(' must come.
  std::size_t phone_shape(std::size_t q, bool intl, bool area) const {
    const auto separators = [&] {
      while (kPhoneSeparators.has(at(q))) ++q;
    };
    const auto digits = [&](int count) {
      for (int i = 0; i < count; ++i, ++q) {
        if (!is_digit(at(q))) return false;
      }
      return true;
    };
    if (intl) {
      if (at(q) == '+') ++q;
      if (at(q) != '0' && at(q) != '1') return kNone;
      ++q;
      separators();
    }
    if (area) {
      if (at(q) == '(') ++q;
      if (!digits(3)) return kNone;
      separators();
    }
    if (!digits(3)) return kNone;
    separators();
    if (!digits(4)) return kNone;
    return q;
  }

  // ---- 3-7. Emoticon, HTML tag, arrow, handle, hashtag ---------------------------------------
  std::size_t emoticon(std::size_t pos) const {
    std::size_t q = pos;
    if (at(q) == '<' || at(q) == '>') ++q;
    if (kEyes.has(at(q))) {
      std::size_t r = q + 1;
      if (kNoses.has(at(r))) ++r;
      if (kMouths.has(at(r))) return r + 1;
    }
    if (kMouths.has(at(pos))) {
      std::size_t r = pos + 1;
      if (kNoses.has(at(r))) ++r;
      if (kEyes.has(at(r))) {
        ++r;
        if (at(r) == '<' || at(r) == '>') ++r;
        return r;
      }
    }
    if (at(pos) == '<') {
      std::size_t r = pos + 1;
      if (at(r) == '/') ++r;
      if (at(r) == '3') return r + 1;
    }
    return kNone;
  }

  std::size_t html_tag(std::size_t pos) {
    if (at(pos) != '<') return kNone;
    if (!tag_run_.covers(pos + 1)) {
      std::size_t r = pos + 1;
      while (r < n_ && t_[r] != '>' && !is_space(t_[r])) ++r;
      tag_run_ = {pos + 1, r, kNone, kNone};
    }
    const std::size_t r = tag_run_.end;
    return (r > pos + 1 && at(r) == '>') ? r + 1 : kNone;
  }

  std::size_t arrow(std::size_t pos) const {
    std::size_t r = pos;
    while (at(r) == '-') ++r;
    if (r > pos && at(r) == '>') return r + 1;
    if (at(pos) == '<' && at(pos + 1) == '-') {
      r = pos + 1;
      while (at(r) == '-') ++r;
      return r;
    }
    return kNone;
  }

  std::size_t handle(std::size_t pos) const {
    if (at(pos) != '@') return kNone;
    std::size_t r = pos + 1;
    while (is_word(at(r))) ++r;
    return r > pos + 1 ? r : kNone;
  }

  // Backtracking leaves the tag ending at the last word character of the run of word
  // characters, apostrophes and dashes after the '#'s.
  std::size_t hashtag(std::size_t pos) const {
    std::size_t h = pos;
    while (at(h) == '#') ++h;
    if (h == pos || !is_word(at(h))) return kNone;
    std::size_t last = kNone;
    for (std::size_t r = h; is_word(at(r)) || at(r) == '\'' || at(r) == '-'; ++r) {
      if (is_word(at(r))) last = r;
    }
    return last >= h + 1 ? last + 1 : kNone;
  }

  // ---- 8. Email --------------------------------------------------------------------------------
  std::size_t email(std::size_t pos) {
    if (!local_run_.covers(pos)) {
      std::size_t r = pos;
      while (is_word(at(r)) || kEmailLocal.has(at(r))) ++r;
      local_run_ = {pos, r, kNone, kNone};
      if (r > pos && at(r) == '@') local_run_.value = email_domain(r + 1);
    }
    return local_run_.value;
  }
  // The end of an email's domain starting at d (after the '@'), or kNone.
  std::size_t email_domain(std::size_t d) const {
    std::size_t r = d;
    while (is_word(at(r)) || at(r) == '-') ++r;
    if (r == d || at(r) != '.') return kNone;
    // After the first '.': word characters (or '-') with single dots between them, ending with a
    // word character, at least two of those; the longest such prefix.
    std::size_t best = kNone, chars = 0;
    bool after_dot = true;  // no leading dot
    for (std::size_t i = r + 1;; ++i) {
      const char32_t c = at(i);
      if (is_word(c) || c == '-') {
        if (++chars >= 2) best = i + 1;
        after_dot = false;
      } else if (c == '.' && !after_dot) {
        after_dot = true;
      } else {
        break;
      }
    }
    return best;
  }

  // ---- 9-10. Emoji sequences and flags -------------------------------------------------------
  std::size_t emoji_sequence(std::size_t pos) const {
    if (!is_any(at(pos))) return kNone;
    std::size_t q = pos + 1;
    if (is_skin_tone(at(q))) ++q;
    int links = 0;
    while (at(q) == kZwj && is_any(at(q + 1))) {
      q += 2;
      if (is_skin_tone(at(q))) ++q;
      ++links;
    }
    if (links > 0) return q;
    return is_skin_tone(at(pos + 1)) ? pos + 2 : kNone;
  }

  std::size_t flag(std::size_t pos) const {
    if (is_regional_indicator(at(pos)) && is_regional_indicator(at(pos + 1))) return pos + 2;
    if (at(pos) != 0x1F3F4) return kNone;
    // Black flag + tag letters "gbeng", "gbsct" or "gbwls" + cancel tag.
    static constexpr char kSubdivisions[3][6] = {"gbeng", "gbsct", "gbwls"};
    for (const auto& code : kSubdivisions) {
      bool same = at(pos + 6) == 0xE007F;
      for (int i = 0; i < 5 && same; ++i) same = at(pos + 1 + i) == 0xE0000 + static_cast<char32_t>(code[i]);
      if (same) return pos + 7;
    }
    return kNone;
  }

  // ---- 11-15. Compound words, numbers, words, ellipses, anything else ------------------------
  // Backtracking ends the compound at the run's last letter.
  std::size_t compound(std::size_t pos) const {
    if (!is_letter(at(pos))) return kNone;
    std::size_t last = kNone;
    for (std::size_t r = pos + 1; is_letter(at(r)) || kCompoundInner.has(at(r)); ++r) {
      if (is_letter(at(r))) last = r;
    }
    return (last != kNone && last >= pos + 2) ? last + 1 : kNone;
  }

  std::size_t number(std::size_t pos) const {
    std::size_t q = pos;
    if (at(q) == '+' || at(q) == '-') ++q;
    if (!is_digit(at(q))) return kNone;
    while (is_digit(at(q))) ++q;
    if (!kNumberSeparators.has(at(q))) return kNone;
    ++q;
    if (!is_digit(at(q))) return kNone;
    while (is_digit(at(q))) ++q;
    if (at(q) == '+' || at(q) == '-') ++q;
    return q;
  }

  std::size_t word(std::size_t pos) const {
    std::size_t r = pos;
    while (is_word(at(r))) ++r;
    return r > pos ? r : kNone;
  }

  std::size_t ellipsis(std::size_t pos) const {
    if (at(pos) != '.') return kNone;
    std::size_t end = kNone;
    for (std::size_t q = pos + 1;;) {
      std::size_t r = q;
      while (is_space(at(r))) ++r;
      if (at(r) != '.') break;
      q = r + 1;
      end = q;
    }
    return end;
  }

  std::u32string_view t_;
  std::size_t n_;
  // The end of a maximal run of one character class, remembered with what was derived from it.
  // The scanner only moves forward, so a later start inside the same run shares its end; without
  // this, text like "a.a.a.a…" would be rescanned from every position (quadratic in its length).
  struct RunMemo {
    std::size_t begin = 1, end = 0;           // empty until first used
    std::size_t value = kNone, value2 = kNone;
    bool covers(std::size_t pos) const { return pos >= begin && pos < end; }
  };
  RunMemo domain_run_, chain_, local_run_, tag_run_;
  std::size_t origin_ = 0;                                // url_body's tables start here
  std::vector<std::size_t> after_, run_end_, last_end_, next_close_, good_close_;  // url_body's tables
};

}  // namespace

const char* to_string(TweetTokenClass kind) {
  static constexpr const char* kNames[] = {  // in the enum's order
      "url",  "phone",    "emoticon", "html-tag", "arrow", "handle",   "hashtag", "email",
      "emoji-sequence", "flag", "compound", "number", "word", "ellipsis", "other"};
  const auto i = static_cast<std::size_t>(kind);
  return i < std::size(kNames) ? kNames[i] : "?";
}

void scan_tweet(std::u32string_view text, std::vector<TweetSpan>& out) { Scanner(text).scan(out); }

bool contains_emoticon(std::u32string_view s) {
  const auto at = [&](std::size_t i) { return i < s.size() ? s[i] : kEnd; };
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char32_t c = s[i];
    if (kEyes.has(c) && (kMouths.has(at(i + 1)) || (kNoses.has(at(i + 1)) && kMouths.has(at(i + 2))))) return true;
    if (kMouths.has(c) && (kEyes.has(at(i + 1)) || (kNoses.has(at(i + 1)) && kEyes.has(at(i + 2))))) return true;
    if (c == '<' && (at(i + 1) == '3' || (at(i + 1) == '/' && at(i + 2) == '3'))) return true;
  }
  return false;
}

}  // namespace loom::data
