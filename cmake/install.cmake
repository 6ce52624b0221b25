# Install rules for everything but the binary (daemon/cli/CMakeLists.txt installs followupd):
# the systemd unit, the configuration (config, rules, templates), the docs, the manual page and
# bash completion.
# Include it from the top-level CMakeLists.txt, after project():  include(cmake/install.cmake)
#
# Where things go, for the prefix given at install time (`cmake --install build --prefix P`, else
# CMAKE_INSTALL_PREFIX), honouring DESTDIR for staging:
#   P/bin/followupd                          daemon/cli/CMakeLists.txt
#   <unitdir>/followupd.service              /lib/systemd/system when P is /usr (Debian's place for
#                                            packaged units), else P/lib/systemd/system (systemd
#                                            reads /usr/local/lib/systemd/system too; for other
#                                            prefixes: `systemctl link` it). -DFOLLOWUP_SYSTEMD_UNITDIR
#                                            overrides.
#   <sysconfdir>/followup/followup.yaml      /etc when P is /usr, else P/etc (CMAKE_INSTALL_SYSCONFDIR;
#   <sysconfdir>/followup/rules/*.yaml       an absolute one is used as is)
#   <sysconfdir>/followup/templates/NAME/*
#   P/share/doc/followup/                    README.md, docs/*.md (operations.md: running it)
#   P/share/doc/followup/examples/           the shipped followup.yaml, rules/ and templates/ again
#   P/share/man/man1/followupd.1             the manual page (man/followupd.1): `man followupd`
#   P/share/bash-completion/completions/followupd
#                                            bash completion (completions/followupd.bash), which
#                                            bash-completion loads on first use
#
# The unit and the config are written at install time, because both name paths that depend on the
# prefix:
# - followupd.service: systemd/followupd.service names /usr/bin/followupd and
#   /etc/followup/followup.yaml (a /usr install). For another prefix those two, and the
#   Documentation= path, are replaced by P's. The checked-in file stays the single source that
#   tests/service/unit_file_test.cpp rates, with no .in template to keep in step with it.
# - followup.yaml: config/followup.yaml is the repository's (every key, paths relative to config/:
#   ../var/followup.db, ../rules, ...). The installed one is the same file with its paths moved:
#   ../var/X -> /var/lib/followup/X (StateDirectory=, whatever the prefix), ../rules and
#   ../templates -> <sysconfdir>/followup/rules and templates. Generated rather than kept as a second
#   copy (config/followup.installed.yaml) so that a key added to config/followup.yaml is installed
#   too, without anyone remembering to copy it; a relative path this file does not know how to place
#   fails the install instead of shipping a config that points into the void.
#
# Upgrades never touch the operator's configuration: followup.yaml, rules/ and templates/ are
# installed into <sysconfdir>/followup only when <sysconfdir>/followup/followup.yaml does not exist
# yet (a first install). An upgrade leaves them as they are and prints where the shipped versions
# went (share/doc/followup/examples/): a rule the operator deleted must not come back, and a new
# shipped rule must not start sending email, just because the software was upgraded.
include_guard(GLOBAL)
include(GNUInstallDirs)

set(FOLLOWUP_SYSTEMD_UNITDIR "" CACHE PATH
    "Absolute directory for followupd.service (empty: /lib/systemd/system for prefix /usr, else <prefix>/lib/systemd/system)")

get_filename_component(_followup_src "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)

# Docs: plain files, relative destinations (the install-time prefix applies).
file(GLOB _followup_docs CONFIGURE_DEPENDS "${_followup_src}/docs/*.md")
install(FILES "${_followup_src}/README.md" ${_followup_docs}
        DESTINATION "${CMAKE_INSTALL_DOCDIR}")
install(DIRECTORY "${_followup_src}/rules" "${_followup_src}/templates"
        DESTINATION "${CMAKE_INSTALL_DOCDIR}/examples"
        FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)

# The manual page and bash completion.
install(FILES "${_followup_src}/man/followupd.1" DESTINATION "${CMAKE_INSTALL_MANDIR}/man1")
install(FILES "${_followup_src}/completions/followupd.bash"
        DESTINATION "${CMAKE_INSTALL_DATADIR}/bash-completion/completions"
        RENAME followupd)

# The rest runs at install time, when the prefix is known. Configure-time values first.
install(CODE "
set(_fu_src \"${_followup_src}\")
set(_fu_work \"${CMAKE_CURRENT_BINARY_DIR}/followup-install\")
set(_fu_unitdir_override \"${FOLLOWUP_SYSTEMD_UNITDIR}\")
set(_fu_sysconfdir \"${CMAKE_INSTALL_SYSCONFDIR}\")
set(_fu_bindir \"${CMAKE_INSTALL_BINDIR}\")
set(_fu_docdir \"${CMAKE_INSTALL_DOCDIR}\")
")
install(CODE [[
# P/dir, or dir itself when absolute.
function(_fu_under_prefix out dir)
  if(IS_ABSOLUTE "${dir}")
    set(${out} "${dir}" PARENT_SCOPE)
  else()
    set(${out} "${CMAKE_INSTALL_PREFIX}/${dir}" PARENT_SCOPE)
  endif()
endfunction()

# Writes a file only when its content changes, so that a repeated install says "Up-to-date".
function(_fu_write path content)
  file(WRITE "${path}.tmp" "${content}")
  file(COPY_FILE "${path}.tmp" "${path}" ONLY_IF_DIFFERENT)
  file(REMOVE "${path}.tmp")
endfunction()

string(REGEX REPLACE "/+$" "" _fu_prefix "${CMAKE_INSTALL_PREFIX}")
if(_fu_prefix STREQUAL "/usr")
  set(_fu_etc "/etc")
  set(_fu_unitdir "/lib/systemd/system")
else()
  _fu_under_prefix(_fu_etc "${_fu_sysconfdir}")
  set(_fu_unitdir "${CMAKE_INSTALL_PREFIX}/lib/systemd/system")
endif()
if(IS_ABSOLUTE "${_fu_sysconfdir}")
  set(_fu_etc "${_fu_sysconfdir}")
endif()
if(_fu_unitdir_override)
  set(_fu_unitdir "${_fu_unitdir_override}")
endif()
_fu_under_prefix(_fu_bin "${_fu_bindir}")
_fu_under_prefix(_fu_doc "${_fu_docdir}")
set(_fu_conf "${_fu_etc}/followup")
# One scratch folder per destination, so that installs to two places do not rewrite each other's.
string(MD5 _fu_key "$ENV{DESTDIR}|${CMAKE_INSTALL_PREFIX}")
string(SUBSTRING "${_fu_key}" 0 12 _fu_key)
set(_fu_work "${_fu_work}/${_fu_key}")
file(MAKE_DIRECTORY "${_fu_work}")

# The unit, with this prefix's paths.
file(READ "${_fu_src}/systemd/followupd.service" _fu_unit)
string(REPLACE "/usr/bin/followupd" "${_fu_bin}/followupd" _fu_unit "${_fu_unit}")
string(REPLACE "/etc/followup/" "${_fu_conf}/" _fu_unit "${_fu_unit}")
string(REPLACE "file:/usr/share/doc/followup/" "file:${_fu_doc}/" _fu_unit "${_fu_unit}")
_fu_write("${_fu_work}/followupd.service" "${_fu_unit}")
file(INSTALL "${_fu_work}/followupd.service" DESTINATION "${_fu_unitdir}"
     FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)

# The config, with its repository-relative paths moved to the installed places. Whole-text
# replacements (a YAML line may hold ';' or '[', which CMake lists do not survive).
file(READ "${_fu_src}/config/followup.yaml" _fu_config)
string(REPLACE "../var/" "/var/lib/followup/" _fu_config "${_fu_config}")
string(REPLACE ": ../rules\n" ": ${_fu_conf}/rules\n" _fu_config "${_fu_config}")
string(REPLACE ": ../templates\n" ": ${_fu_conf}/templates\n" _fu_config "${_fu_config}")
string(REGEX REPLACE "#[^\n]*" "" _fu_uncommented "${_fu_config}")
if(_fu_uncommented MATCHES "[^\n]*\\.\\./[^\n]*")
  message(FATAL_ERROR "install: config/followup.yaml has a relative path that "
          "cmake/install.cmake does not know where to install: '${CMAKE_MATCH_0}'")
endif()
set(_fu_yaml "# Installed by `cmake --install` from config/followup.yaml: state in /var/lib/followup\n")
string(APPEND _fu_yaml "# (systemd's StateDirectory=), rules and templates beside this file.\n")
string(APPEND _fu_yaml "${_fu_config}")
_fu_write("${_fu_work}/followup.yaml" "${_fu_yaml}")
file(INSTALL "${_fu_work}/followup.yaml" DESTINATION "${_fu_doc}/examples"
     FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)

# First install only (see the top of cmake/install.cmake): config, rules, templates into /etc.
if(EXISTS "$ENV{DESTDIR}${_fu_conf}/followup.yaml")
  message(STATUS "Kept: $ENV{DESTDIR}${_fu_conf}/followup.yaml, rules/ and templates/ (yours); the shipped "
                 "versions are in $ENV{DESTDIR}${_fu_doc}/examples/")
else()
  file(INSTALL "${_fu_work}/followup.yaml" DESTINATION "${_fu_conf}"
       FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
  set(_fu_dir_permissions DIR_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ
                          GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
  file(INSTALL "${_fu_src}/rules" DESTINATION "${_fu_conf}"
       FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ ${_fu_dir_permissions}
       FILES_MATCHING PATTERN "*.yaml" PATTERN "*.yml")
  file(INSTALL "${_fu_src}/templates" DESTINATION "${_fu_conf}"
       FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ ${_fu_dir_permissions})
endif()
]])
