#include "cachegen/experiments/gpu_decode_rates.h"

#include <algorithm>
#include <cstdlib>
#include <sstream>

#include "cachegen/codec/registry.h"
#include "cachegen/core/byte_io.h"
#include "cachegen/core/error.h"
#include "cachegen/experiments/stream_setup.h"

namespace cachegen {

namespace {
std::string trimmed(const std::string& text) {
  const size_t begin = text.find_first_not_of(" \t\r");
  if (begin == std::string::npos)
    return "";
  return text.substr(begin, text.find_last_not_of(" \t\r") + 1 - begin);
}

// The cells of a Markdown table line "| a | b |".
std::vector<std::string> cells(const std::string& line) {
  std::vector<std::string> out;
  const std::string body = trimmed(line);
  size_t start = 1;
  while (start < body.size()) {
    const size_t end = body.find('|', start);
    if (end == std::string::npos)
      break;
    out.push_back(trimmed(body.substr(start, end - start)));
    start = end + 1;
  }
  return out;
}

double positive_number(const std::string& text, const std::string& where) {
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !(value > 0) || value > 1e12)
    fail(where, ": '", text, "' is not a positive number");
  return value;
}

// Every parameter of the codec that `spec` makes.
std::map<std::string, std::string> codec_params(const std::string& name, Options options,
                                                const std::string& where) {
  const bool offline_tables = options.has("tables") && options.values().at("tables") == "profile";
  if (offline_tables) {
    std::map<std::string, std::string> values = options.values();
    values.erase("tables");  // made without its profile; any profile decodes alike
    options = Options(values, options.context());
  }
  std::unique_ptr<Codec> codec;
  try {
    // The benchmark measures codecs by their settings; a file (a calibration, a profile) has no
    // place in a row, and reading one named here is not this reader's business.
    for (const OptionSpec& spec : codec_registry().info(name).options) {
      if (spec.type == OptionType::kFile && options.has(spec.name))
        fail("codec '", name, "': a decode-rate row cannot name a file (option '", spec.name, "')");
    }
    codec = make_codec(name, options, CodecContext{});
  } catch (const Error& e) {
    fail(where, ": ", e.what());
  }
  std::map<std::string, std::string> params = decode_cost_params(codec->params());
  if (offline_tables)
    params["tables"] = "profile";
  return params;
}
}  // namespace

std::vector<CodecDecodeCost> read_gpu_decode_rates(const std::string& path) {
  const std::vector<uint8_t> bytes = read_file(path);
  std::istringstream in(std::string(bytes.begin(), bytes.end()));
  double context_bytes = 0;
  int codec_column = -1, device_column = -1, upload_column = -1, parse_column = -1;
  std::vector<CodecDecodeCost> out;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    const std::string where = str(path, ":", number);
    const std::string text = trimmed(line);
    if (text.rfind("context:", 0) == 0) {
      const size_t comma = text.rfind(',');
      const size_t mb = text.find(" MB of f16 KV");
      if (comma == std::string::npos || mb == std::string::npos || mb < comma)
        fail(where, ": expected 'context: ..., X MB of f16 KV'");
      context_bytes = 1e6 * positive_number(trimmed(text.substr(comma + 1, mb - comma - 1)), where);
      continue;
    }
    if (text.empty() || text[0] != '|' || text.rfind("|---", 0) == 0)
      continue;
    const std::vector<std::string> row = cells(text);
    if (codec_column < 0) {  // the header
      for (size_t i = 0; i < row.size(); ++i) {
        const int column = static_cast<int>(i);
        if (row[i] == "codec")
          codec_column = column;
        else if (row[i] == "decode GB/s (device)")
          device_column = column;
        else if (row[i] == "decode GB/s (with H2D copy)")
          upload_column = column;
        else if (row[i] == "host parse ms")
          parse_column = column;
      }
      if (codec_column < 0 || device_column < 0 || upload_column < 0 || parse_column < 0)
        fail(where,
             ": the table needs columns 'codec', 'decode GB/s (device)', 'decode GB/s "
             "(with H2D copy)' and 'host parse ms'");
      if (!(context_bytes > 0))
        fail(where, ": the 'context: ..., X MB of f16 KV' line must come before the table");
      continue;
    }
    if (static_cast<int>(row.size()) <=
        std::max({codec_column, device_column, upload_column, parse_column}))
      fail(where, ": a row with ", row.size(), " cells; the header has more");
    CodecDecodeCost cost;
    cost.label = row[static_cast<size_t>(codec_column)];
    const auto [name, options] = split_plugin_spec(cost.label);
    cost.codec = name;
    cost.params = codec_params(name, Options::parse(options, "codec '" + name + "'"), where);
    auto cell = [&](int column) { return row[static_cast<size_t>(column)]; };
    cost.device_bytes_per_s = 1e9 * positive_number(cell(device_column), where);
    const double with_upload = 1e9 * positive_number(cell(upload_column), where);
    if (with_upload > cost.device_bytes_per_s)
      fail(where, ": decode with the upload (", cell(upload_column),
           " GB/s) is faster than without it (", cell(device_column), " GB/s)");
    // The upload's share: the time with it less the device's time.
    cost.upload_s_per_byte = 1 / with_upload - 1 / cost.device_bytes_per_s;
    cost.parse_s_per_byte = 1e-3 * positive_number(cell(parse_column), where) / context_bytes;
    for (const CodecDecodeCost& earlier : out) {
      if (earlier.codec == cost.codec && earlier.params == cost.params)
        fail(where, ": codec '", cost.label, "' is the same codec as '", earlier.label, "'");
    }
    out.push_back(std::move(cost));
  }
  if (out.empty())
    fail(path, ": no codec rows (expected the table of gpu_codec_bench)");
  return out;
}

}  // namespace cachegen
