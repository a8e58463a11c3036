# The Debian package (CPack, DEB), made by `cmake --build build --target package`:
# build/invsys_<version>_amd64.deb with
#   /usr/bin/invsys-fcgi, /usr/lib/invsys/plugins/*.so (the built-in plugins),
#   /etc/invsys/invsys.conf (packaging/invsys.conf),
#   /etc/nginx/sites-available/invsys (nginx/invsys.conf.template as a site,
#     scripts/render-nginx-site.sh: 127.0.0.1:8080 → unix:/run/invsys/invsys.sock),
#   /usr/share/invsys/web (the admin UI at /: build/web, which scripts/web-build.sh
#     fills; the site's root),
#   /lib/systemd/system/invsys-fcgi.service (runs as the system user invsys, which
#     packaging/debian/postinst creates; www-data joins the group invsys).
# Only the install component `service` goes in (not the plugin SDK).
option(INVSYS_PACKAGE "Configure the Debian package (cpack / the target package)" ON)
if(NOT INVSYS_PACKAGE)
    return()
endif()

set(INVSYS_PACKAGE_LISTEN 127.0.0.1:8080)
set(INVSYS_PACKAGE_SOCKET unix:/run/invsys/invsys.sock)
set(INVSYS_PACKAGE_SITE ${CMAKE_BINARY_DIR}/packaging/nginx-site-invsys)
# The package installs under /usr (CPACK_PACKAGING_INSTALL_PREFIX below).
set(CPACK_PACKAGING_INSTALL_PREFIX_FOR_SITE /usr)
add_custom_command(OUTPUT ${INVSYS_PACKAGE_SITE}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/packaging
    COMMAND bash ${PROJECT_SOURCE_DIR}/scripts/render-nginx-site.sh
        --listen ${INVSYS_PACKAGE_LISTEN} --upstream ${INVSYS_PACKAGE_SOCKET}
        --web-root ${CPACK_PACKAGING_INSTALL_PREFIX_FOR_SITE}/share/invsys/web > ${INVSYS_PACKAGE_SITE}
    DEPENDS ${PROJECT_SOURCE_DIR}/scripts/render-nginx-site.sh ${PROJECT_SOURCE_DIR}/scripts/render-nginx-conf.sh
        ${PROJECT_SOURCE_DIR}/nginx/invsys.conf.template
    COMMENT "Rendering the nginx site of the Debian package"
    VERBATIM)
add_custom_target(invsys_package_site ALL DEPENDS ${INVSYS_PACKAGE_SITE})

install(TARGETS invsys-fcgi invsys-admin RUNTIME DESTINATION bin COMPONENT service)
install(TARGETS invsys_plugin_car invsys_plugin_lorry invsys_plugin_truck
    LIBRARY DESTINATION lib/invsys/plugins COMPONENT service)
install(FILES ${PROJECT_SOURCE_DIR}/packaging/invsys.conf DESTINATION /etc/invsys COMPONENT service)
install(FILES ${INVSYS_PACKAGE_SITE} DESTINATION /etc/nginx/sites-available RENAME invsys COMPONENT service)
install(FILES ${PROJECT_SOURCE_DIR}/packaging/invsys-fcgi.service DESTINATION /lib/systemd/system
    COMPONENT service)
# Scheduled backups (docs/operations.md): installed, not enabled.
install(FILES ${PROJECT_SOURCE_DIR}/packaging/invsys-backup.service
              ${PROJECT_SOURCE_DIR}/packaging/invsys-backup.timer
        DESTINATION /lib/systemd/system COMPONENT service)
install(FILES ${PROJECT_SOURCE_DIR}/docs/operations.md DESTINATION share/doc/invsys COMPONENT service)
install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION share/doc/invsys COMPONENT service)
# The admin UI (and Swagger UI's docs/ when built): scripts/web-build.sh's
# output. A package without it would serve 404 at /, so its absence fails.
install(CODE "if(NOT EXISTS \"${CMAKE_BINARY_DIR}/web/index.html\")
    message(FATAL_ERROR \"${CMAKE_BINARY_DIR}/web/index.html missing: run scripts/web-build.sh first\")
endif()" COMPONENT service)
install(DIRECTORY ${CMAKE_BINARY_DIR}/web/ DESTINATION share/invsys/web COMPONENT service
    PATTERN "*.map" EXCLUDE)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME invsys)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "invsys booking service: FastCGI pool behind nginx")
set(CPACK_PACKAGE_CONTACT "invsys maintainers <invsys@localhost>")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_INSTALL_CMAKE_PROJECTS "${CMAKE_BINARY_DIR};invsys;service;/")
set(CPACK_STRIP_FILES TRUE)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "nginx")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/packaging/debian/postinst
    ${PROJECT_SOURCE_DIR}/packaging/debian/prerm
    ${PROJECT_SOURCE_DIR}/packaging/debian/postrm
    ${PROJECT_SOURCE_DIR}/packaging/debian/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
include(CPack)
