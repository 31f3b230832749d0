#include "cachegen/experiments/runner.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "cachegen/core/byte_io.h"
#include "cachegen/core/error.h"
#include "cachegen/core/timer.h"
#include "cachegen/core/yaml_config.h"
#include "cachegen/experiments/metrics.h"
#include "cachegen/experiments/provenance.h"
#include "sweep_worker.h"

namespace cachegen {

namespace fs = std::filesystem;

const std::vector<std::string>& result_columns() {
  static const std::vector<std::string> columns{"revision",
                                                "kv_tokens",
                                                "encoding_used",
                                                "codec_used",
                                                "ttft_s",
                                                "transfer_s",
                                                "decode_s",
                                                "recompute_s",
                                                "prefill_s",
                                                "waiting_s",
                                                "kv_bytes",
                                                "bits_per_element",
                                                "slo_met",
                                                "accuracy",
                                                "f1",
                                                "perplexity",
                                                "kl",
                                                "top1",
                                                "kv_relative_error",
                                                "chunk_encodings"};
  return columns;
}

std::vector<std::string> run_columns(const RunConfig& config) {
  std::vector<std::string> columns{"point", "request", "seed"};
  for (const auto& [key, value] : config.points.front().settings())
    columns.push_back(key);
  columns.insert(columns.end(), result_columns().begin(), result_columns().end());
  return columns;
}

namespace {
using Row = std::map<std::string, std::string>;

std::string csv_field(const std::string& value) {
  if (value.find_first_of(",\"\n") == std::string::npos)
    return value;
  std::string out = "\"";
  for (char c : value)
    out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string csv_line(const Row& row, const std::vector<std::string>& columns) {
  std::string line;
  for (const std::string& column : columns) {
    auto it = row.find(column);
    line += (line.empty() ? "" : ",") + csv_field(it == row.end() ? "" : it->second);
  }
  return line + "\n";
}

std::string csv_header(const std::vector<std::string>& columns) {
  std::string line;
  for (const std::string& column : columns)
    line += (line.empty() ? "" : ",") + column;
  return line + "\n";
}

std::vector<std::string> parse_csv_line(const std::string& line, const std::string& where,
                                        size_t expected_fields) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        fields.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        fields.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else {
      fields.back() += c;
    }
  }
  if (quoted || (expected_fields && fields.size() != expected_fields))
    fail(where, ": malformed row (", fields.size(), " fields, expected ", expected_fields, ")");
  return fields;
}

struct Table {
  std::vector<std::string> columns;  // the header's
  std::vector<Row> rows;
};

// The rows of a runs.csv; a last line without its newline (a write cut by a kill) is dropped
// and, with `repair`, cut from the file. With `expected` columns, a file of others fails.
Table read_rows(const std::string& path, bool repair,
                const std::vector<std::string>* expected = nullptr) {
  std::vector<uint8_t> bytes = read_file(path);
  std::string text(bytes.begin(), bytes.end());
  const size_t complete = text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1;
  if (complete != text.size() && repair)
    fs::resize_file(path, complete);
  std::istringstream in(text.substr(0, complete));
  std::string line;
  Table table;
  if (!std::getline(in, line))
    fail(path, ": no header");
  table.columns = parse_csv_line(line, path + " line 1", 0);
  if (expected && table.columns != *expected)
    fail(path, ": its columns differ from this config's (another version or config?)");
  for (const char* key : {"point", "request"}) {
    if (std::find(table.columns.begin(), table.columns.end(), key) == table.columns.end())
      fail(path, ": not a runs.csv (no column '", key, "')");
  }
  for (int64_t number = 2; std::getline(in, line); ++number) {
    std::vector<std::string> fields =
        parse_csv_line(line, path + " line " + std::to_string(number), table.columns.size());
    Row row;
    for (size_t i = 0; i < fields.size(); ++i)
      row[table.columns[i]] = fields[i];
    table.rows.push_back(std::move(row));
  }
  return table;
}

std::pair<int64_t, int64_t> row_key(const Row& row) {
  return {std::stoll(row.at("point")), std::stoll(row.at("request"))};
}

// Appends one line and syncs it, so that a kill leaves whole rows (or one cut last line).
void append_synced(int fd, const std::string& line, const std::string& path) {
  size_t done = 0;
  while (done < line.size()) {
    ssize_t n = ::write(fd, line.data() + done, line.size() - done);
    if (n < 0)
      fail(path, ": write failed");
    done += static_cast<size_t>(n);
  }
  ::fsync(fd);
}

void write_text_atomically(const std::string& path, const std::string& text) {
  const std::string staging = path + ".tmp";
  {
    std::ofstream out(staging, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out)
      fail(path, ": cannot write");
  }
  fs::rename(staging, path);
}

// A runs.csv written before some run keys existed: its rows get those columns at the keys'
// defaults (same_resolved_config() has checked that this config leaves them there), and the file
// is rewritten with this version's columns. Any other difference in columns fails.
void add_new_key_columns(const std::string& path, Table& table,
                         const std::vector<std::string>& columns) {
  for (const std::string& column : table.columns) {
    if (std::find(columns.begin(), columns.end(), column) == columns.end())
      fail(path, ": its column '", column, "' is not one of this version's; use another --out");
  }
  std::string text = csv_header(columns);
  for (const std::string& column : columns) {
    if (std::find(table.columns.begin(), table.columns.end(), column) != table.columns.end())
      continue;
    const OptionSchema& keys = run_options();
    auto key = std::find_if(keys.begin(), keys.end(),
                            [&](const OptionSpec& spec) { return spec.name == column; });
    if (key == keys.end())
      fail(path, ": it lacks column '", column, "', which is not a run key; use another --out");
    for (Row& row : table.rows)
      row[column] = key->default_text;
  }
  for (const Row& row : table.rows)
    text += csv_line(row, columns);
  write_text_atomically(path, text);
  table.columns = columns;
}

std::string format_duration(double seconds) {
  char buffer[32];
  const auto s = static_cast<int64_t>(seconds + 0.5);
  std::snprintf(buffer, sizeof(buffer), "%lldm%02llds", static_cast<long long>(s / 60),
                static_cast<long long>(s % 60));
  return buffer;
}

void show_progress(int64_t done, int64_t total, double elapsed_s, int64_t fresh) {
  const int width = 30;
  const int filled = total ? static_cast<int>(width * done / total) : width;
  std::string bar(static_cast<size_t>(filled), '#');
  bar.resize(width, ' ');
  const double eta =
      fresh > 0 ? elapsed_s / static_cast<double>(fresh) * static_cast<double>(total - done) : 0;
  std::fprintf(stderr, "\r[%s] %lld/%lld rows, %s elapsed, ETA %s ", bar.c_str(),
               static_cast<long long>(done), static_cast<long long>(total),
               format_duration(elapsed_s).c_str(), format_duration(eta).c_str());
  std::fflush(stderr);
}
}  // namespace

RunStats run_sweep(const RunConfig& config, const RunOptions& options) {
  if (options.shard_count < 1 || options.shard_index < 0 ||
      options.shard_index >= options.shard_count) {
    fail("--shard ", options.shard_index, "/", options.shard_count,
         ": expected I/N with 0 <= I < N");
  }
  fs::create_directories(options.out_dir);
  const std::string csv = options.out_dir + "/runs.csv", yaml = options.out_dir + "/config.yaml";
  const std::string resolved = config.resolved_yaml + "# shard " +
                               std::to_string(options.shard_index) + "/" +
                               std::to_string(options.shard_count) + "\n";
  const std::vector<std::string> columns = run_columns(config);
  std::set<std::pair<int64_t, int64_t>> done;
  if (fs::exists(csv)) {
    if (!options.resume)
      fail(csv, " exists: pass --resume to finish that run, or another --out");
    std::vector<uint8_t> old = read_file(yaml);
    if (!same_resolved_config(std::string(old.begin(), old.end()), resolved))
      fail(options.out_dir, " holds results of another config (", yaml, " differs)");
    Table old_rows = read_rows(csv, true);
    if (old_rows.columns != columns)
      add_new_key_columns(csv, old_rows, columns);
    for (const Row& row : old_rows.rows)
      done.insert(row_key(row));
  } else {
    write_text_atomically(yaml, resolved);
    write_text_atomically(csv, csv_header(columns));
  }
  // The inputs' hashes and this build; a resumed run whose inputs changed fails here.
  record_provenance(config, options.out_dir, static_cast<int64_t>(done.size()),
                    options.accept_changed_inputs);

  // The rows this shard owns: every k-th (point, request) pair.
  std::vector<std::pair<const RunPoint*, int64_t>> mine;
  int64_t k = 0;
  for (const RunPoint& point : config.points) {
    for (int64_t r = 0; r < point.run.integer("requests"); ++r, ++k) {
      if (k % options.shard_count == options.shard_index)
        mine.emplace_back(&point, r);
    }
  }
  // Run request by request, every point of a request in turn: points of one request share its
  // context (the worker caches it), so each context is prefilled once, not once per point.
  std::stable_sort(mine.begin(), mine.end(),
                   [](const auto& a, const auto& b) { return a.second < b.second; });
  RunStats stats;
  stats.rows = static_cast<int64_t>(mine.size());
  const int fd = ::open(csv.c_str(), O_WRONLY | O_APPEND);
  if (fd < 0)
    fail(csv, ": cannot open for appending");
  SweepWorker worker(config);
  Stopwatch clock;
  int64_t finished = 0;
  try {
    for (const auto& [point, request] : mine) {
      if (done.count({point->index, request})) {
        ++stats.resumed;
      } else {
        append_synced(fd, csv_line(worker.run(*point, request), columns), csv);
        ++stats.written;
      }
      ++finished;
      if (options.progress)
        show_progress(finished, stats.rows, clock.seconds(), stats.written);
    }
  } catch (...) {
    ::close(fd);
    if (options.progress)
      std::fprintf(stderr, "\n");
    throw;
  }
  ::close(fd);
  if (options.progress)
    std::fprintf(stderr, "\n");
  return stats;
}

void merge_results(const std::vector<std::string>& shard_dirs, const std::string& out_dir) {
  if (shard_dirs.empty())
    fail("merge: no shard directories");
  std::string config;
  std::vector<std::string> columns;
  std::map<std::pair<int64_t, int64_t>, Row> rows;  // by (request, point): a single run's order
  std::set<int64_t> shard_seen;
  int64_t shard_count = 0;
  for (const std::string& dir : shard_dirs) {
    std::vector<uint8_t> bytes = read_file(dir + "/config.yaml");
    std::string text(bytes.begin(), bytes.end());
    const size_t mark = text.rfind("# shard ");
    if (mark == std::string::npos)
      fail(dir, "/config.yaml: no shard line");
    long long index = 0, count = 0;
    if (std::sscanf(text.c_str() + mark, "# shard %lld/%lld", &index, &count) != 2)
      fail(dir, "/config.yaml: malformed shard line");
    const std::string body = text.substr(0, mark);
    if (config.empty()) {
      config = body;
      shard_count = count;
    } else if (body != config || count != shard_count) {
      fail("merge: ", dir, " holds another config or shard count than ", shard_dirs.front());
    }
    if (!shard_seen.insert(index).second)
      fail("merge: shard ", index, " given twice");
    Table table = read_rows(dir + "/runs.csv", false, columns.empty() ? nullptr : &columns);
    columns = table.columns;
    for (Row& row : table.rows) {
      const auto [point, request] = row_key(row);
      if (!rows.emplace(std::make_pair(request, point), std::move(row)).second)
        fail("merge: row (point ", point, ", request ", request, ") appears twice");
    }
  }
  if (static_cast<int64_t>(shard_seen.size()) != shard_count)
    fail("merge: ", shard_seen.size(), " of ", shard_count, " shards given");
  fs::create_directories(out_dir);
  write_text_atomically(out_dir + "/config.yaml", config + "# shard 0/1\n");
  std::string csv = csv_header(columns);
  for (const auto& [key, row] : rows)
    csv += csv_line(row, columns);
  write_text_atomically(out_dir + "/runs.csv", csv);
  merge_provenance(shard_dirs, out_dir);
}

namespace {
struct Mean {
  double sum = 0;
  int64_t n = 0;
  void add(const std::string& v) {
    if (!v.empty()) {
      sum += std::stod(v);
      ++n;
    }
  }
  nlohmann::json value() const {
    return n ? nlohmann::json(sum / static_cast<double>(n)) : nlohmann::json();
  }
};

const std::vector<std::string>& averaged_columns() {
  static const std::vector<std::string> columns{
      "ttft_s",   "transfer_s",        "decode_s", "recompute_s", "prefill_s",  "waiting_s",
      "kv_bytes", "bits_per_element",  "accuracy", "f1",          "perplexity", "kl",
      "top1",     "kv_relative_error", "slo_met"};
  return columns;
}

// SLO violations of pooled requests: the rate and a 95% interval that accounts for requests
// of one cluster (one point: one trace, every context) being alike. Wilson's interval on the
// effective sample size n / deff, with Kish's design effect deff estimated from the spread of
// the clusters' rates, between 1 (independent) and the mean cluster size (identical); at a rate
// of 0 or 1 the spread says nothing, and the cluster count is taken (the conservative end).
void add_violations(const std::vector<std::vector<const Row*>>& clusters,
                    nlohmann::ordered_json& entry) {
  double requests = 0, violations = 0;
  std::vector<double> rates;
  for (const std::vector<const Row*>& cluster : clusters) {
    double missed = 0, n = 0;
    for (const Row* row : cluster) {
      auto it = row->find("slo_met");
      if (it != row->end() && !it->second.empty()) {
        missed += it->second == "1" ? 0 : 1;
        ++n;
      }
    }
    if (n > 0)
      rates.push_back(missed / n);
    requests += n;
    violations += missed;
  }
  const double rate = requests > 0 ? violations / requests : 0;
  const double k = static_cast<double>(rates.size()), m = k > 0 ? requests / k : 1;
  double deff = m;
  if (rate > 0 && rate < 1 && k > 1) {
    double spread = 0;
    for (double r : rates)
      spread += (r - rate) * (r - rate);
    spread /= k - 1;
    deff = std::clamp(spread / (rate * (1 - rate) / m), 1.0, std::max(1.0, m));
  }
  const double effective_n = requests / deff;
  const auto [low, high] = wilson_interval(rate * effective_n, effective_n);
  entry["slo_violation_rate"] = rate;
  entry["slo_violation_ci95"] = {low, high};
  entry["slo_violation_effective_n"] = effective_n;
}

// Means of the result columns over `clusters`' rows and the request count into `entry`, then
// the violations (add_violations).
std::map<std::string, Mean> add_statistics(const std::vector<std::vector<const Row*>>& clusters,
                                           nlohmann::ordered_json& entry) {
  std::map<std::string, Mean> means;
  for (const std::string& column : averaged_columns()) {
    Mean& m = means[column];
    for (const std::vector<const Row*>& cluster : clusters) {
      for (const Row* row : cluster) {
        auto it = row->find(column);
        m.add(it == row->end() ? "" : it->second);
      }
    }
  }
  entry["requests"] = means.at("ttft_s").n;
  for (const std::string& column : averaged_columns())
    entry[column == "slo_met" ? "slo_met_rate" : column] = means.at(column).value();
  add_violations(clusters, entry);
  return means;
}

// The `pool:` keys of a run directory's resolved config.
std::vector<std::string> pooled_axes(const std::string& out_dir) {
  const YAML::Node config = load_yaml_file(out_dir + "/config.yaml");
  std::vector<std::string> keys;
  if (const YAML::Node pool = config["pool"]) {
    for (const YAML::Node& key : pool)
      keys.push_back(key.as<std::string>());
  }
  return keys;
}
}  // namespace

std::string write_summary(const std::string& out_dir) {
  const Table runs = read_rows(out_dir + "/runs.csv", false);
  const std::vector<Row>& rows = runs.rows;
  // The settings: every column between the row's identity and its results.
  std::vector<std::string> settings;
  for (auto c = runs.columns.begin();
       c != std::find(runs.columns.begin(), runs.columns.end(), "revision"); ++c) {
    if (*c != "point" && *c != "request" && *c != "seed")
      settings.push_back(*c);
  }
  std::map<int64_t, std::vector<const Row*>> by_point;
  for (const Row& row : rows)
    by_point[std::stoll(row.at("point"))].push_back(&row);
  nlohmann::ordered_json summary;
  summary["rows"] = rows.size();
  summary["points"] = nlohmann::ordered_json::array();
  std::ostringstream table;
  char line[256];
  std::snprintf(line, sizeof(line), "%-22s %-8s %-6s %8s %7s %10s %9s %10s %9s %6s\n", "controller",
                "encoding", "ctx", "bw_gbps", "slo_s", "ttft_s", "size_MB", "quality", "kl",
                "slo%");
  table << line;
  for (const auto& [point, point_rows] : by_point) {
    const Row& r = *point_rows.front();
    nlohmann::ordered_json p;
    p["point"] = point;
    for (const std::string& key : settings)
      p[key] = r.at(key);
    for (const char* key : {"kv_tokens", "encoding_used", "codec_used"})
      p[key] = r.at(key);
    // A point's requests are independent contexts: each its own cluster.
    std::vector<std::vector<const Row*>> singles;
    for (const Row* row : point_rows)
      singles.push_back({row});
    const std::map<std::string, Mean> means = add_statistics(singles, p);
    const Mean& slo = means.at("slo_met");
    summary["points"].push_back(p);
    // Quality: the dataset's metric, else the KV error.
    std::string quality = "-";
    for (const char* metric : {"accuracy", "f1", "perplexity"}) {
      if (means.at(metric).n) {
        char q[32];
        std::snprintf(q, sizeof(q), "%s=%.3g",
                      metric == std::string("accuracy") ? "acc"
                      : metric == std::string("f1")     ? "f1"
                                                        : "ppl",
                      means.at(metric).sum / static_cast<double>(means.at(metric).n));
        quality = q;
      }
    }
    if (quality == "-") {
      char q[32];
      std::snprintf(q, sizeof(q), "err=%.3g", means.at("kv_relative_error").value().get<double>());
      quality = q;
    }
    char kl[32] = "-";
    if (means.at("kl").n)
      std::snprintf(kl, sizeof(kl), "%.3g", means.at("kl").value().get<double>());
    auto setting = [&](const char* key) {
      auto it = r.find(key);
      return it == r.end() ? std::string() : it->second;
    };
    std::string controller = setting("encoding").empty() ? setting("controller")
                                                         : "fixed:encoding=" + setting("encoding");
    if (!setting("compression").empty() && setting("compression") != "none")
      controller += " +" + setting("compression");  // (the line grows past its column)
    const std::string bandwidth = !setting("net.trace").empty() ? "trace"
                                  : setting("net.bandwidth_gbps").empty()
                                      ? "default"
                                      : setting("net.bandwidth_gbps");
    std::snprintf(line, sizeof(line), "%-22s %-8s %-6s %8s %7s %10.4f %9.3f %10s %9s %5.0f%%\n",
                  controller.c_str(), r.at("encoding_used").c_str(), r.at("kv_tokens").c_str(),
                  bandwidth.c_str(), r.at("slo_s").c_str(),
                  means.at("ttft_s").value().get<double>(),
                  means.at("kv_bytes").value().get<double>() / 1e6, quality.c_str(), kl,
                  100 * slo.sum / static_cast<double>(std::max<int64_t>(1, slo.n)));
    table << line;
  }
  // Pooled entries: the points that differ only in the pooled keys, their requests together.
  const std::vector<std::string> pooled = pooled_axes(out_dir);
  if (!pooled.empty()) {
    // A group's clusters: its points (each one trace, say, with all its contexts).
    std::map<std::vector<std::string>, std::vector<std::vector<const Row*>>> groups;
    std::vector<std::vector<std::string>> order;  // first appearance
    for (const auto& [point, point_rows] : by_point) {
      std::vector<std::string> key;
      for (const std::string& setting : settings) {
        if (std::find(pooled.begin(), pooled.end(), setting) == pooled.end())
          key.push_back(point_rows.front()->at(setting));
      }
      auto [it, fresh] = groups.try_emplace(key);
      if (fresh)
        order.push_back(key);
      it->second.push_back(point_rows);
    }
    summary["pooled_over"] = pooled;
    summary["pooled"] = nlohmann::ordered_json::array();
    for (const std::vector<std::string>& key : order) {
      const std::vector<std::vector<const Row*>>& group = groups.at(key);
      nlohmann::ordered_json entry;
      size_t k = 0;
      for (const std::string& setting : settings) {
        if (std::find(pooled.begin(), pooled.end(), setting) == pooled.end())
          entry[setting] = key[k++];
      }
      entry["points"] = group.size();
      add_statistics(group, entry);
      summary["pooled"].push_back(entry);
    }
  }
  const nlohmann::ordered_json provenance = read_provenance(out_dir);
  if (!provenance.is_null())
    summary["provenance"] = provenance;
  write_text_atomically(out_dir + "/summary.json", summary.dump(2) + "\n");
  return table.str();
}

}  // namespace cachegen
