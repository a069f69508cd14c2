// Checks of a report page without a browser: well-formed markup (every element closed in order,
// attributes quoted, `<` and `&` escaped in text) and no reference to anything outside the file.
#pragma once

#include <algorithm>
#include <cctype>
#include <set>
#include <string>
#include <vector>

namespace lowbit::report::testing {

/// One tag of a page.
struct Tag {
  std::string name;                                        ///< Lower-case element name.
  std::vector<std::pair<std::string, std::string>> attrs;  ///< Name and value.
  bool closing = false;                                    ///< `</name>`.
  bool self_closing = false;                               ///< `<name ... />`.
  std::string raw_text;                                    ///< For script and style: their content.
};

/// Splits `html` into tags; returns "" or the first problem with its byte offset.
inline std::string parse_tags(const std::string& html, std::vector<Tag>& tags) {
  auto at = [](size_t i) { return " at byte " + std::to_string(i); };
  size_t i = 0;
  while (i < html.size()) {
    const char c = html[i];
    if (c == '&') {
      const size_t semi = html.find(';', i);
      if (semi == std::string::npos || semi - i > 10) return "bare '&'" + at(i);
      for (size_t k = i + 1; k < semi; ++k) {
        if (!std::isalnum(static_cast<unsigned char>(html[k])) && html[k] != '#') {
          return "bad entity" + at(i);
        }
      }
      i = semi + 1;
      continue;
    }
    if (c == '>') return "bare '>'" + at(i);
    if (c != '<') {
      ++i;
      continue;
    }
    if (html.compare(i, 9, "<!DOCTYPE") == 0 || html.compare(i, 4, "<!--") == 0) {
      const size_t end = html.find('>', i);
      if (end == std::string::npos) return "unterminated declaration" + at(i);
      i = end + 1;
      continue;
    }
    Tag tag;
    size_t k = i + 1;
    if (k < html.size() && html[k] == '/') {
      tag.closing = true;
      ++k;
    }
    while (k < html.size() && (std::isalnum(static_cast<unsigned char>(html[k])) ||
                               html[k] == '-' || html[k] == ':')) {
      tag.name += static_cast<char>(std::tolower(static_cast<unsigned char>(html[k++])));
    }
    if (tag.name.empty()) return "bare '<'" + at(i);
    for (;;) {
      while (k < html.size() && std::isspace(static_cast<unsigned char>(html[k]))) ++k;
      if (k >= html.size()) return "unterminated tag <" + tag.name + at(i);
      if (html[k] == '>') break;
      if (html.compare(k, 2, "/>") == 0) {
        tag.self_closing = true;
        ++k;
        break;
      }
      std::string name;
      while (k < html.size() && html[k] != '=' && html[k] != '>' &&
             !std::isspace(static_cast<unsigned char>(html[k]))) {
        name += static_cast<char>(std::tolower(static_cast<unsigned char>(html[k++])));
      }
      if (k >= html.size() || html[k] != '=' || k + 1 >= html.size() || html[k + 1] != '"') {
        return "attribute '" + name + "' of <" + tag.name + "> is not name=\"value\"" + at(k);
      }
      const size_t end = html.find('"', k + 2);
      if (end == std::string::npos) return "unterminated attribute" + at(k);
      const std::string value = html.substr(k + 2, end - k - 2);
      if (value.find('<') != std::string::npos) return "'<' in an attribute" + at(k);
      tag.attrs.emplace_back(name, value);
      k = end + 1;
    }
    i = k + 1;
    if (!tag.closing && (tag.name == "script" || tag.name == "style")) {
      const std::string close = "</" + tag.name + ">";
      const size_t end = html.find(close, i);
      if (end == std::string::npos) return "unclosed <" + tag.name + ">" + at(i);
      tag.raw_text = html.substr(i, end - i);
      tags.push_back(tag);
      tags.push_back(Tag{tag.name, {}, true, false, ""});
      i = end + close.size();
      continue;
    }
    tags.push_back(tag);
  }
  return "";
}

/// "" when `html` is well formed (a fragment or a whole page), else the first problem.
inline std::string html_problem(const std::string& html) {
  std::vector<Tag> tags;
  const std::string problem = parse_tags(html, tags);
  if (!problem.empty()) return problem;
  static const std::set<std::string> kVoid = {"meta", "br", "hr", "img", "input", "link"};
  std::vector<std::string> open;
  for (const Tag& t : tags) {
    if (t.self_closing || (!t.closing && kVoid.count(t.name))) continue;
    if (!t.closing) {
      open.push_back(t.name);
    } else if (open.empty() || open.back() != t.name) {
      return "</" + t.name + "> closes " + (open.empty() ? "nothing" : "<" + open.back() + ">");
    } else {
      open.pop_back();
    }
  }
  return open.empty() ? "" : "<" + open.back() + "> is never closed";
}

/// "" when nothing in `html` refers to another file or the network: no src/href/srcset/poster/
/// data attributes, no link/iframe/object/embed/img elements, no URL in an attribute, style or
/// script, no url()/@import/fetch. Else what was found.
inline std::string external_reference(const std::string& html) {
  std::vector<Tag> tags;
  const std::string problem = parse_tags(html, tags);
  if (!problem.empty()) return problem;
  static const std::set<std::string> kElements = {"link",  "iframe", "object", "embed", "img",
                                                  "image", "use",    "base",   "audio", "video"};
  static const std::set<std::string> kAttrs = {"src",    "href", "xlink:href", "srcset",
                                               "poster", "data", "action",     "xmlns"};
  static const std::vector<std::string> kPatterns = {"http:",  "https:",         "url(", "@import",
                                                     "fetch(", "XMLHttpRequest", "//"};
  static const std::string kPng = "data:image/png;base64,";
  for (const Tag& t : tags) {
    if (t.closing) continue;
    // An SVG <image> is inside the file when its one reference is a PNG in a data: URI.
    const bool inline_image =
        t.name == "image" && std::count_if(t.attrs.begin(), t.attrs.end(), [](const auto& a) {
                               return a.first == "href" && a.second.rfind(kPng, 0) == 0;
                             }) == 1;
    if (kElements.count(t.name) && !inline_image) return "<" + t.name + "> element";
    for (const auto& [name, value] : t.attrs) {
      if (inline_image && name == "href") continue;
      if (kAttrs.count(name)) return "attribute " + name + "=\"" + value + "\" on <" + t.name + ">";
      for (const std::string& p : kPatterns) {
        if (value.find(p) != std::string::npos)
          return "'" + p + "' in " + name + "=\"" + value + "\"";
      }
    }
    for (const std::string& p : kPatterns) {
      if (p != "//" && t.raw_text.find(p) != std::string::npos) {
        return "'" + p + "' in <" + t.name + ">";
      }
    }
  }
  return "";
}

}  // namespace lowbit::report::testing
