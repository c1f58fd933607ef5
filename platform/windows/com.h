// COM for the management APIs (WMI, Security Center): HRESULT -> cg::Error, owning pointers
// for interfaces, BSTRs and VARIANTs, and a call on a thread of its own in the multithreaded
// apartment. The agent is a service whose threads belong to Asio and the scheduler; none of
// them is ever put into a COM apartment, so every COM use here runs on a short-lived thread
// that enters the MTA, does the whole query (COM pointers never leave it) and leaves.
#pragma once

// clang-format off
#include <windows.h>
#include <oleauto.h>
// clang-format on

#include <functional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace cg::platform::windows {

// "<what>: <system message> (HRESULT 0x80041010)"; the code is always there (it is what an
// operator looks up, whatever the language of the message). WMI's own codes (0x8004xxxx)
// get their WBEM_E_* names, which FormatMessage does not know.
Error HresultError(std::string_view what, HRESULT hr);

// The ErrorCode of an HRESULT: a class, namespace or API this system does not have is
// kUnavailable, access denied kPermissionDenied, a timeout kTimeout; kIo otherwise.
ErrorCode HresultErrorCode(HRESULT hr);

// An owning interface pointer (Release on destruction).
template <typename T>
class ComPtr {
 public:
  ComPtr() = default;
  ComPtr(const ComPtr&) = delete;
  ComPtr& operator=(const ComPtr&) = delete;
  ~ComPtr() { Reset(); }
  T* get() const { return p_; }
  T* operator->() const { return p_; }
  explicit operator bool() const { return p_ != nullptr; }
  // For out-parameters: releases what it held.
  T** Put() {
    Reset();
    return &p_;
  }
  void** PutVoid() { return reinterpret_cast<void**>(Put()); }
  void Reset() {
    if (p_ != nullptr) {
      p_->Release();
      p_ = nullptr;
    }
  }

 private:
  T* p_ = nullptr;
};

// An owning BSTR.
class Bstr {
 public:
  Bstr() = default;
  explicit Bstr(std::wstring_view text);
  Bstr(const Bstr&) = delete;
  Bstr& operator=(const Bstr&) = delete;
  ~Bstr() { SysFreeString(b_); }
  BSTR get() const { return b_; }
  BSTR* Put() {
    SysFreeString(b_);
    b_ = nullptr;
    return &b_;
  }
  // UTF-8; "" for a null BSTR.
  Result<std::string> Utf8() const;

 private:
  BSTR b_ = nullptr;
};

// An owning VARIANT (VariantClear on destruction).
class Variant {
 public:
  Variant() { VariantInit(&v_); }
  Variant(const Variant&) = delete;
  Variant& operator=(const Variant&) = delete;
  ~Variant() { VariantClear(&v_); }
  VARIANT* get() { return &v_; }
  const VARIANT& operator*() const { return v_; }

 private:
  VARIANT v_;
};

// Runs `body` on a new thread that has entered the multithreaded apartment (and, once per
// process, set the process's COM security to what WMI needs: impersonation, packet
// integrity), and returns its status. The thread leaves the apartment before this returns.
Status RunInComThread(const std::function<Status()>& body);

}  // namespace cg::platform::windows
