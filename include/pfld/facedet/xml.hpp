// A small XML reader for OpenCV's FileStorage files (the cascade classifiers): elements, text,
// comments and the <?xml?> prolog. No attributes are needed and none are kept; entities are not
// expanded (the cascades use none). Malformed input is an Error naming the file and the line; so is
// nesting deeper than Parser::kMaxDepth, which keeps the recursive descent's stack small.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "../core/error.hpp"
#include "../io/file_bytes.hpp"

namespace pfld {
inline namespace facedet {
namespace xml {

struct Node {
  std::string name;
  std::string text;  // the character data directly inside, concatenated
  std::vector<std::unique_ptr<Node>> children;

  // The first child called `child`, or null.
  const Node* find(const std::string& child) const {
    for (const auto& c : children)
      if (c->name == child) return c.get();
    return nullptr;
  }
};

class Parser {
 public:
  // OpenCV's cascades nest 6 deep; the limit bounds the stack a hostile file can make the parser use.
  static constexpr int kMaxDepth = 64;

  Parser(std::string text, std::string source) : s_(std::move(text)), source_(std::move(source)) {}

  std::unique_ptr<Node> parse_document() {
    skip_misc();
    auto root = parse_element(1);
    skip_misc();
    if (pos_ < s_.size()) fail("content after the root element");
    return root;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    std::size_t line = 1;
    for (std::size_t i = 0; i < pos_ && i < s_.size(); ++i) line += s_[i] == '\n';
    detail::fail(source_, ": line ", line, ": ", what, " (not a well-formed XML file, or truncated)");
  }

  bool starts(const char* p) const { return s_.compare(pos_, std::char_traits<char>::length(p), p) == 0; }

  void skip_until(const char* end) {
    const std::size_t at = s_.find(end, pos_);
    if (at == std::string::npos) {
      pos_ = s_.size();
      fail(std::string("missing '") + end + "'");
    }
    pos_ = at + std::char_traits<char>::length(end);
  }

  void skip_space() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\r' || s_[pos_] == '\t')) ++pos_;
  }

  // Whitespace, comments, processing instructions and DOCTYPE between elements.
  void skip_misc() {
    for (;;) {
      skip_space();
      if (starts("<!--"))
        skip_until("-->");
      else if (starts("<?"))
        skip_until("?>");
      else if (starts("<!"))
        skip_until(">");
      else
        return;
    }
  }

  std::string parse_name() {
    const std::size_t start = pos_;
    while (pos_ < s_.size()) {
      const char c = s_[pos_];
      if (c == ' ' || c == '>' || c == '/' || c == '\n' || c == '\r' || c == '\t') break;
      ++pos_;
    }
    if (pos_ == start) fail("an element without a name");
    return s_.substr(start, pos_ - start);
  }

  std::unique_ptr<Node> parse_element(int depth) {
    if (depth > kMaxDepth) fail("elements nested more than " + std::to_string(kMaxDepth) + " deep");
    if (pos_ >= s_.size() || s_[pos_] != '<') fail("expected an element");
    ++pos_;
    auto node = std::make_unique<Node>();
    node->name = parse_name();
    // Attributes (type_id="...") are skipped.
    while (pos_ < s_.size() && s_[pos_] != '>' && !(s_[pos_] == '/' && pos_ + 1 < s_.size() && s_[pos_ + 1] == '>')) {
      if (s_[pos_] == '"') {
        ++pos_;
        skip_until("\"");
      } else {
        ++pos_;
      }
    }
    if (pos_ >= s_.size()) fail("unterminated <" + node->name + ">");
    if (s_[pos_] == '/') {
      pos_ += 2;
      return node;
    }
    ++pos_;
    for (;;) {
      if (pos_ >= s_.size()) fail("<" + node->name + "> is not closed");
      if (starts("<!--")) {
        skip_until("-->");
      } else if (starts("</")) {
        pos_ += 2;
        const std::string closing = parse_name();
        if (closing != node->name) fail("</" + closing + "> closes <" + node->name + ">");
        skip_space();
        if (pos_ >= s_.size() || s_[pos_] != '>') fail("unterminated </" + closing + ">");
        ++pos_;
        return node;
      } else if (s_[pos_] == '<') {
        node->children.push_back(parse_element(depth + 1));
      } else {
        const std::size_t next = s_.find('<', pos_);
        const std::size_t end = next == std::string::npos ? s_.size() : next;
        node->text.append(s_, pos_, end - pos_);
        pos_ = end;
      }
    }
  }

  std::string s_;
  std::string source_;
  std::size_t pos_ = 0;
};

inline std::unique_ptr<Node> parse(std::string text, std::string source) {
  return Parser(std::move(text), std::move(source)).parse_document();
}

inline std::unique_ptr<Node> read_file(const std::string& path) {
  const std::vector<unsigned char> bytes = io::read_file_bytes(path);
  return parse(std::string(bytes.begin(), bytes.end()), path);
}

}  // namespace xml
}  // namespace facedet
}  // namespace pfld
