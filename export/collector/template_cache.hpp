// The templates that v9 and IPFIX exporters announce, kept per exporter stream so that the data
// sets that follow can be decoded. A stream is (exporter address and port, version, v9 source id
// or IPFIX observation domain); template ids are only unique within one.
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <map>
#include <vector>

#include "export/collector/endpoint.hpp"

namespace spanflow::collector {

struct TemplateField {
    std::uint16_t id{0};          // element id, enterprise bit cleared
    std::uint16_t length{0};      // bytes in the record, unless variable
    std::uint32_t enterprise{0};  // 0: an IANA element; otherwise skipped by its length
    bool variable{false};         // IPFIX length 65535: each record carries the length

    friend bool operator==(const TemplateField&, const TemplateField&) = default;
};

struct Template {
    std::vector<TemplateField> fields;
    bool options{false};  // options data records are counted, never output as flows
    // The fewest bytes a record takes (a variable-length field at least its 1-byte length): set
    // space left below it is padding.
    std::size_t min_record_bytes{0};

    friend bool operator==(const Template&, const Template&) = default;
};

struct TemplateKey {
    Endpoint exporter;
    std::uint16_t version{0};
    std::uint32_t domain{0};
    std::uint16_t template_id{0};

    friend auto operator<=>(const TemplateKey&, const TemplateKey&) = default;
};

class TemplateCache {
  public:
    // Field specifiers kept over all templates. Exporters announce a handful of templates of a
    // few dozen fields each; a sender that invents new domains or ids in every datagram must not
    // grow the collector without end. Past the bound new templates are refused (and counted).
    static constexpr std::size_t kMaxFields = 1 << 20;

    [[nodiscard]] const Template* find(const TemplateKey& key) const;
    // Defines or redefines `key`. Exporters re-send the same templates every few datagrams, so an
    // unchanged one is left alone and a changed one reuses the old one's storage. False when the
    // cache is full (kMaxFields): nothing is defined.
    [[nodiscard]] bool define(const TemplateKey& key, const Template& t);
    void withdraw(const TemplateKey& key);
    // Withdraws every template (options == false) or every options template of the stream of
    // `stream` (its template id is ignored).
    void withdraw_all(const TemplateKey& stream, bool options);
    [[nodiscard]] std::size_t size() const { return templates_.size(); }

  private:
    // Looked up once per set, and a stream has a handful of templates: an ordered map suffices
    // and keeps one stream's templates together for withdraw_all.
    std::map<TemplateKey, Template> templates_;
    std::size_t fields_{0};  // field specifiers over all templates
};

}  // namespace spanflow::collector
